import { Data, Effect, Either, JSONSchema, ParseResult, Schema } from "effect"
import { evictionPolicies } from "./eviction/index.js"
import { placementPolicies } from "./placement/index.js"
import type { BuildContext, Family, PolicyDescriptor, PolicyOf } from "./registry.js"
import { routingPolicies } from "./routing/index.js"
import { scalingPolicies } from "./scaling/index.js"
import { batchingPolicies } from "./batching/index.js"

export const families: readonly Family[] = ["eviction", "placement", "routing", "scaling", "batching"]

const byFamily: { readonly [F in Family]: ReadonlyArray<PolicyDescriptor<F>> } = {
  eviction: evictionPolicies,
  placement: placementPolicies,
  routing: routingPolicies,
  scaling: scalingPolicies,
  batching: batchingPolicies
}

export const allPolicies = (): ReadonlyArray<PolicyDescriptor> => families.flatMap((f): ReadonlyArray<PolicyDescriptor> => byFamily[f])
export const policiesOf = <F extends Family>(family: F): ReadonlyArray<PolicyDescriptor<F>> => byFamily[family]
export const findPolicy = <F extends Family>(family: F, name: string): PolicyDescriptor<F> | undefined =>
  byFamily[family].find((d) => d.name === name)

/** A policy chosen by name with its options, as written in a scenario or server config. */
export const PolicyChoice = Schema.Struct({
  name: Schema.String,
  options: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type PolicyChoice = typeof PolicyChoice.Type

export class PolicyConfigError extends Data.TaggedError("PolicyConfigError")<{
  readonly family: Family
  readonly name: string
  readonly message: string
}> {}

/** Resolve a choice to a descriptor and decoded options, with an error that names the bad field. */
export const resolvePolicy = <F extends Family>(
  family: F,
  choice: PolicyChoice | string
): Either.Either<{ readonly descriptor: PolicyDescriptor<F>; readonly options: unknown }, PolicyConfigError> => {
  const c = typeof choice === "string" ? { name: choice } : choice
  const descriptor = findPolicy(family, c.name)
  if (!descriptor) {
    const known = byFamily[family].map((d) => d.name).join(", ")
    return Either.left(
      new PolicyConfigError({ family, name: c.name, message: `unknown ${family} policy "${c.name}" (known: ${known})` })
    )
  }
  const decoded = Schema.decodeUnknownEither(descriptor.options, { onExcessProperty: "error" })(c.options ?? {})
  if (Either.isLeft(decoded)) {
    const why = ParseResult.TreeFormatter.formatErrorSync(decoded.left)
    return Either.left(
      new PolicyConfigError({ family, name: c.name, message: `${family} policy "${c.name}" options: ${why}` })
    )
  }
  return Either.right({ descriptor, options: decoded.right })
}

/** Build a policy now (plain code: the simulator's workers and tests). Throws PolicyConfigError. */
export const buildPolicy = <F extends Family>(family: F, choice: PolicyChoice | string, ctx: BuildContext): PolicyOf[F] => {
  const r = resolvePolicy(family, choice)
  if (Either.isLeft(r)) throw r.left
  return r.right.descriptor.make(r.right.options, ctx)
}

/** The same, as an Effect (the server's configuration path). */
export const buildPolicyEffect = <F extends Family>(
  family: F,
  choice: PolicyChoice | string,
  ctx: BuildContext
): Effect.Effect<PolicyOf[F], PolicyConfigError> =>
  Effect.map(resolvePolicy(family, choice), (r) => r.descriptor.make(r.options, ctx))

/** JSON-friendly description of every policy, for `meshkit policies --json`. */
export const describePolicies = () =>
  allPolicies().map((d) => ({
    name: d.name,
    family: d.family,
    description: d.description,
    offline: d.offline ?? false,
    options: JSONSchemaOf(d.options)
  }))

/** Options schema as JSON Schema; schemas with transformations JSON Schema cannot express fall back to text. */
const JSONSchemaOf = (s: Schema.Schema<any, any>): unknown => {
  const ast = s.ast
  if (ast._tag === "TypeLiteral" && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0) {
    return { type: "object", properties: {}, additionalProperties: false }
  }
  try {
    return JSONSchema.make(s)
  } catch {
    return { description: String(s.ast) }
  }
}
