/**
 * Test support: a real etcd (Debian's `etcd-server`, 3.4) on loopback with free ports and a
 * temporary data dir, started by the test itself. No mocks: cluster tests talk to this process.
 *
 * When the binary is missing the harness installs it once (apt-get, as root) and says so on
 * stderr; when it cannot, the test fails with one line naming what to install — never a skip.
 */
import { existsSync } from "node:fs"
import { ensureDebianPackage, listedDependency } from "../../../../test/support/system-deps.js"
import { startEtcd as startEtcdProcess } from "../../src/cluster/etcd-process.js"

const CANDIDATES = ["/usr/bin/etcd", "/usr/local/bin/etcd"]
/** etcd starts in ~0.3 s when idle; a loaded 2-core box has been seen taking several seconds. */
const READY_TIMEOUT_MS = 30_000

const findEtcd = (): string | undefined => CANDIDATES.find((p) => existsSync(p))

/** The etcd binary, installing Debian's etcd-server/etcd-client through the harness's one installer when missing. */
export const ensureEtcd = (): string => {
  const found = findEtcd()
  if (found) return found
  const installed = ensureDebianPackage(listedDependency("etcd-server"))
  if (installed === undefined) throw new Error("etcd-server installed but /usr/bin/etcd is not there")
  return installed
}

export interface EtcdServer {
  /** client URL, e.g. http://127.0.0.1:40123 */
  readonly endpoint: string
  readonly dataDir: string
  /** stop the process (SIGTERM, then SIGKILL); the data dir stays for `start` */
  stop(): Promise<void>
  /** start it again on the same ports and data dir (after `stop`) */
  start(): Promise<void>
  /** stop and remove the data dir */
  dispose(): Promise<void>
  readonly log: () => string
}

/** Start a fresh single-member etcd on loopback (the product's own launcher) and wait until it is healthy. */
export const startEtcd = async (): Promise<EtcdServer> => {
  const e = await startEtcdProcess({ bin: ensureEtcd(), output: "keep", readyTimeoutMs: READY_TIMEOUT_MS })
  return { endpoint: e.endpoint, dataDir: e.dataDir, stop: e.stop, start: e.restart, dispose: e.dispose, log: e.log }
}
