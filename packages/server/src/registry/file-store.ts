import { messageOf } from "../errors.js"
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises"
import { basename, dirname, join } from "node:path"

/**
 * A JSON document on local disk that survives crashes: every write goes to a temporary file in
 * the same directory, is fsynced, then renamed over the old file (atomic on POSIX), and the
 * directory is fsynced so the rename itself is durable. Writes are serialised: the file always
 * holds one complete version, the latest one written.
 */
export class JsonFileStore<T> {
  private chain: Promise<void> = Promise.resolve()

  constructor(readonly path: string) {}

  /** The stored document, or undefined when there is none yet. Throws on a corrupt file. */
  async read(): Promise<T | undefined> {
    let text: string
    try {
      text = await readFile(this.path, "utf8")
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
      throw e
    }
    try {
      return JSON.parse(text) as T
    } catch (e) {
      throw new Error(`${this.path} is not valid JSON (${messageOf(e)}); fix or move it away — it was not modified`)
    }
  }

  /**
   * Remove temporary files a killed process left beside the document (`<file>.tmp-<pid>-<n>`),
   * except those of a process still alive (another writer sharing the directory).
   */
  async removeLeftovers(): Promise<number> {
    let names: string[]
    try {
      names = await readdir(dirname(this.path))
    } catch {
      return 0
    }
    const prefix = `${basename(this.path)}.tmp-`
    let removed = 0
    for (const n of names) {
      if (!n.startsWith(prefix)) continue
      const path = join(dirname(this.path), n)
      // Ours, being written now (another store on the same file in this process)? A live writer's?
      if (writing.has(path)) continue
      const pid = Number(/^(\d+)-\d+$/.exec(n.slice(prefix.length))?.[1])
      if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue
      await rm(path, { force: true })
      removed++
    }
    return removed
  }

  /** Write `value`; resolves once it is durable. Concurrent calls are applied in call order. */
  write(value: T): Promise<void> {
    const text = `${JSON.stringify(value, null, 2)}\n`
    const run = this.chain.then(() => this.writeNow(text))
    this.chain = run.catch(() => {})
    return run
  }

  private async writeNow(text: string): Promise<void> {
    const dir = dirname(this.path)
    await mkdir(dir, { recursive: true })
    const tmp = `${this.path}.tmp-${process.pid}-${++tmpSeq}`
    writing.add(tmp)
    try {
      const fh = await open(tmp, "w", 0o644)
      try {
        await fh.writeFile(text, "utf8")
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, this.path)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    } finally {
      writing.delete(tmp)
    }
    const d = await open(dir, "r")
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  }
}

/** Temporary files this process is writing (a store opened twice in one process must not remove them). */
const writing = new Set<string>()
/** Per process, not per store: two stores on one file must not pick the same temporary name. */
let tmpSeq = 0

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}
