/** Test support for the cluster tests: layers on a real etcd (./etcd.ts), scoped runs, polling. */
import { Context, Effect, Layer, type Scope } from "effect"
import { ClusterRegistry } from "../../src/cluster/cluster-registry.js"
import { clusterConfigLayer, type ClusterSettings } from "../../src/cluster/config.js"
import { etcdStoreLayer } from "../../src/cluster/etcd-store.js"
import { KvStore } from "../../src/cluster/kv-store.js"
import { LocalInstance, Membership } from "../../src/cluster/membership.js"
import type { InstanceStatus } from "../../src/cluster/records.js"

let seq = 0
/** A key prefix of its own for each test, so tests sharing one etcd never see each other. */
export const freshPrefix = (name: string) => `t-${process.pid}-${++seq}-${name}/`

export type Settings = Partial<Omit<ClusterSettings, "keys">> & { readonly instanceId: string }

export const storeLayer = (endpoint: string, timeoutMs = 2_000) => etcdStoreLayer({ endpoints: [endpoint], timeoutMs })

/** Store + config for one simulated instance. */
export const baseLayer = (endpoint: string, settings: Settings, timeoutMs = 2_000) =>
  Layer.merge(storeLayer(endpoint, timeoutMs), clusterConfigLayer({ etcdTimeoutMs: timeoutMs, ...settings }))

/** Build a layer inside the current scope and take one service out of it. */
export const service = <I, S, E, RIn>(layer: Layer.Layer<I, E, RIn>, tag: Context.Tag<I, S>): Effect.Effect<S, E, RIn | Scope.Scope> =>
  Layer.build(layer).pipe(Effect.map((ctx) => Context.get(ctx, tag)))

export const registryFor = (endpoint: string, settings: Settings, timeoutMs = 2_000) =>
  Effect.gen(function* () {
    const base = yield* Layer.memoize(baseLayer(endpoint, settings, timeoutMs))
    const registry = yield* service(ClusterRegistry.Default.pipe(Layer.provideMerge(base)), ClusterRegistry)
    const store = yield* service(base, KvStore)
    return { registry, store }
  })

export const run = <A, E>(eff: Effect.Effect<A, E, Scope.Scope>): Promise<A> => Effect.runPromise(Effect.scoped(eff))

/** Poll `check` until it returns a value other than undefined/false, or fail after `ms`. */
export const eventually = <A>(what: string, check: () => A | undefined | false, ms = 10_000): Effect.Effect<A> =>
  Effect.gen(function* () {
    const until = Date.now() + ms
    for (;;) {
      const v = check()
      if (v !== undefined && v !== false) return v
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out after ${ms} ms waiting for: ${what}`))
      yield* Effect.sleep(25)
    }
  })

export const modelSpec = (id: string, uri = `/models/${id}.onnx`) => ({
  id,
  format: "onnx",
  uri,
  path: uri,
  source: "api" as const,
  tenant: "default",
  labels: {},
  pinned: false,
  minCopies: 0,
  maxCopies: 1000,
  registeredAt: 1_700_000_000_000
})

/** An instance's own figures as the model manager would report them. */
export const idleStatus = (over: Partial<InstanceStatus> = {}): InstanceStatus => ({
  httpUrl: "http://127.0.0.1:1",
  capacityBytes: 1 << 30,
  usedBytes: 0,
  models: [],
  loadingModels: [],
  loadSlots: 2,
  inFlight: 0,
  rpm: 0,
  lruTime: 0,
  labels: {},
  shuttingDown: false,
  version: "test",
  ...over
})

/** Registry + membership for one in-process instance whose status the test controls. */
export const memberFor = (endpoint: string, settings: Settings, status: () => InstanceStatus, timeoutMs = 2_000) =>
  Effect.gen(function* () {
    const base = yield* Layer.memoize(baseLayer(endpoint, settings, timeoutMs))
    const layer = yield* Layer.memoize(
      Membership.Default.pipe(Layer.provideMerge(ClusterRegistry.Default), Layer.provide(Layer.succeed(LocalInstance, { status })), Layer.provideMerge(base))
    )
    const ctx = yield* Layer.build(layer)
    return { registry: Context.get(ctx, ClusterRegistry), membership: Context.get(ctx, Membership), store: Context.get(ctx, KvStore), layer }
  })
