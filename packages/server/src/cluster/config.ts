import { Context, Layer } from "effect"
import { DEFAULT_ETCD_TIMEOUT_MS } from "./etcd-store.js"
import { type ClusterKeys, clusterKeys, DEFAULT_CLUSTER_PREFIX } from "./keys.js"

/** What cluster mode needs to know about this instance; `meshkit serve --etcd` fills it from its config. */
export interface ClusterSettings {
  /** stable across restarts of the same instance (a restart with the same id reconciles) */
  readonly instanceId: string
  /** key prefix in etcd, default `meshkit/` */
  readonly prefix: string
  readonly keys: ClusterKeys
  /** instance record lease; the record vanishes this long after the instance dies (default 10 s) */
  readonly leaseTtlSeconds: number
  /** how often this instance checks whether its record changed significantly (default 500 ms) */
  readonly checkIntervalMs: number
  /** never publish more often than this (default 1 s; ModelMesh: 2 s) */
  readonly minPublishIntervalMs: number
  /** publish at least this often even without a significant change (default 5 s) */
  readonly heartbeatMs: number
  /** leader election lease (default 10 s: a dead leader is replaced within about that) */
  readonly leaderTtlSeconds: number
  /** how often the leader prunes copy records of instances that are gone (default 10 s) */
  readonly pruneIntervalMs: number
  /** an instance must be missing this long before the leader prunes its copies (default 30 s) */
  readonly pruneGraceMs: number
  /** --etcd-timeout, for messages (the store enforces it) */
  readonly etcdTimeoutMs: number
}

export class ClusterConfig extends Context.Tag("meshkit/server/ClusterConfig")<ClusterConfig, ClusterSettings>() {}

export const clusterSettings = (s: Partial<Omit<ClusterSettings, "keys">> & { readonly instanceId: string }): ClusterSettings => {
  const prefix = s.prefix ?? DEFAULT_CLUSTER_PREFIX
  return {
    instanceId: s.instanceId,
    prefix,
    keys: clusterKeys(prefix),
    leaseTtlSeconds: s.leaseTtlSeconds ?? 10,
    checkIntervalMs: s.checkIntervalMs ?? 500,
    minPublishIntervalMs: s.minPublishIntervalMs ?? 1_000,
    heartbeatMs: s.heartbeatMs ?? 5_000,
    leaderTtlSeconds: s.leaderTtlSeconds ?? 10,
    pruneIntervalMs: s.pruneIntervalMs ?? 10_000,
    pruneGraceMs: s.pruneGraceMs ?? 30_000,
    etcdTimeoutMs: s.etcdTimeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS
  }
}

export const clusterConfigLayer = (s: Parameters<typeof clusterSettings>[0]) => Layer.succeed(ClusterConfig, clusterSettings(s))
