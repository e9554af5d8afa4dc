/**
 * The key layout under the cluster prefix (default `meshkit/`), one place for all of it:
 *
 *   <prefix>registry/<modelId>     ClusterModelRecord (persistent)
 *   <prefix>vmodels/<vmodelId>     ClusterVModelRecord (persistent)
 *   <prefix>instances/<instanceId> InstanceRecord, bound to the instance's lease
 *   <prefix>config/<name>          cluster-wide settings (persistent)
 *   <prefix>election/leader/<lease> leader election (etcd3 Election; lease-bound)
 */
export interface ClusterKeys {
  readonly root: string
  readonly registry: string
  readonly vmodels: string
  readonly instances: string
  readonly config: string
  readonly model: (id: string) => string
  readonly vmodel: (id: string) => string
  readonly instance: (id: string) => string
  readonly setting: (name: string) => string
}

export const DEFAULT_CLUSTER_PREFIX = "meshkit/"

export const clusterKeys = (prefix: string = DEFAULT_CLUSTER_PREFIX): ClusterKeys => {
  const root = prefix.endsWith("/") ? prefix : `${prefix}/`
  const registry = `${root}registry/`
  const vmodels = `${root}vmodels/`
  const instances = `${root}instances/`
  const config = `${root}config/`
  return {
    root,
    registry,
    vmodels,
    instances,
    config,
    model: (id) => registry + id,
    vmodel: (id) => vmodels + id,
    instance: (id) => instances + id,
    setting: (name) => config + name
  }
}
