import { createRequire } from "node:module"

/**
 * Keeping the process inside its memory budget after models leave.
 *
 * Where the memory went (measured with 60 × 2 MiB ONNX models, --memory 32MiB, 8 clients on
 * random models, RSS against the just-started server): RSS grew 93–146 MiB for the 32 MiB budget
 * and stayed there. Turning onnxruntime's CPU arena and memory patterns off changed little (93
 * MiB); decoded request buffers are small here. The rest is glibc's heap: a session's load
 * allocates the file, the parsed protobuf and the prepacked weights — a few MiB per model, below
 * glibc's dynamic mmap threshold once the first large chunk has been freed — and when the
 * session is released those chunks go back to malloc's free lists, in the middle of the heap,
 * where `free` never returns them to the OS.
 *
 * glibc's `malloc_trim(0)` gives every free page in every arena back (madvise DONTNEED), not just
 * the top of the heap. It is not free: the call takes about 1 ms, and the pages it returns must be
 * faulted in again by the next loads (about 3 µs a page on this VM: 10–15 ms of CPU per trim of a
 * few MiB). Trimming after every unload cost about 30 % of load/unload throughput, as does
 * `MALLOC_MMAP_THRESHOLD_`, which returns every large block on free. So the governor trims only
 * when it has to: after an unload, when resident memory has grown past the just-started process +
 * the model budget + a slack, and not again until it has grown by TRIM_BACKOFF_BYTES over what the
 * last trim left. Under the line nothing changes; a server that never unloads never trims.
 *
 * Only on Linux with glibc (koffi calls it; no compiler at install); elsewhere, or when koffi
 * cannot load, trimming is unavailable and the server says so once at start.
 */

/** Returns free heap memory to the OS; true when some was released. */
export type HeapTrim = () => boolean

/** glibc's malloc_trim through koffi, or the reason there is none on this platform. */
export const glibcTrim = (): HeapTrim | string => {
  if (process.platform !== "linux") return `heap trimming needs Linux with glibc (this is ${process.platform})`
  try {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi")
    // libc.so.6 and malloc_trim are glibc's: on musl or without koffi's binary this throws
    const trim = koffi.load("libc.so.6").func("int malloc_trim(size_t pad)") as (pad: number) => number
    return () => trim(0) === 1
  } catch (e) {
    return `heap trimming is unavailable: ${String((e as Error)?.message ?? e).split("\n")[0]}`
  }
}

export interface HeapGovernorOptions {
  /** resident memory (bytes) of the process now */
  readonly rss: () => number
  readonly trim: HeapTrim
  /** the line: trim after an unload when rss() exceeds it */
  readonly limitBytes: number
  /** called after each trim with the bytes it gave back and how long it took */
  readonly onTrim?: (releasedBytes: number, ms: number) => void
}

/**
 * After a trim that leaves the process still over its line (what is left is in use: resident
 * models' buffers, thread stacks), the next trim waits until RSS has grown this much more, so the
 * server does not trim — and re-fault — after every unload for memory it cannot give back.
 */
export const TRIM_BACKOFF_BYTES = 8 * 1024 ** 2

export class HeapGovernor {
  trims = 0
  releasedBytes = 0
  private nextAt: number
  constructor(private readonly o: HeapGovernorOptions) {
    this.nextAt = o.limitBytes
  }

  get limitBytes(): number {
    return this.o.limitBytes
  }

  /** A model's runtime has let go of it: give freed memory back if the process is over its line. */
  afterUnload(): void {
    const before = this.o.rss()
    if (before <= this.nextAt) return
    const t0 = performance.now()
    this.o.trim()
    const ms = performance.now() - t0
    const after = this.o.rss()
    const released = Math.max(0, before - after)
    this.nextAt = Math.max(this.o.limitBytes, after + TRIM_BACKOFF_BYTES)
    this.trims++
    this.releasedBytes += released
    this.o.onTrim?.(released, ms)
  }
}
