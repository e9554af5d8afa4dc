import { Context } from "effect"

/**
 * A class that is its own service tag, so each service has one name for its type, its tag and
 * its constructor: `class ModelManager extends ServiceTag("meshkit/server/ModelManager")<ModelManager>() {…}`,
 * then `yield* ModelManager` in Effect code and `new ModelManager(options)` in plain code and
 * unit tests. Effect's Context.Tag classes are the same thing with the constructor closed
 * (`new (_: never)`), because their instances are not usually the service; here they are.
 * (Effect.Service would copy a service object's own fields into a new instance, losing the
 * prototype methods and private state these hot-path classes rely on.)
 */
export const ServiceTag =
  <const Key extends string>(key: Key) =>
  <Self>(): (abstract new () => Context.TagClassShape<Key, Self>) & Context.Tag<Self, Self> & { readonly key: Key } =>
    Context.Tag(key)<Self, Self>() as never
