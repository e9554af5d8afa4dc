/**
 * How long the JS thread is held by the synchronous part of in-process session work.
 *
 * onnxruntime-node creates a session inside one setImmediate callback (its native loadModel) and
 * releases it synchronously: nothing else runs on the event loop meanwhile, so every request of
 * every model waits. This tally is what a simulator needs to model that hold (its load and
 * unload "busy" periods); the server exports it as meshkit_js_thread_{load,unload}_hold_seconds_total
 * and meshkit_js_thread_{load,unload}_holds_total. Per process: sessions in worker threads hold their worker, not the JS thread, and are
 * not counted.
 */
export interface HoldTally {
  ms: number
  count: number
  maxMs: number
}

export const jsThreadHolds: { readonly load: HoldTally; readonly unload: HoldTally } = {
  load: { ms: 0, count: 0, maxMs: 0 },
  unload: { ms: 0, count: 0, maxMs: 0 }
}

export const recordHold = (t: HoldTally, ms: number): void => {
  t.ms += ms
  t.count++
  if (ms > t.maxMs) t.maxMs = ms
}

/**
 * Run `create` (which does its synchronous work in a setImmediate callback scheduled after at
 * least one await) and record how long that callback held the thread: a probe immediate queued
 * first marks the start; the continuation right after the callback (a microtask) marks the end.
 * An inference immediate queued between the two would be counted too (rare: its setImmediate
 * would have to be queued within the few microtasks before create's).
 */
export const timedCreate = async <A>(create: () => Promise<A>): Promise<A> => {
  let start = -1
  setImmediate(() => {
    start = performance.now()
  })
  const a = await create()
  if (start >= 0) recordHold(jsThreadHolds.load, performance.now() - start)
  return a
}

export const timedRelease = async (release: () => Promise<void>): Promise<void> => {
  const t0 = performance.now()
  try {
    await release()
  } finally {
    recordHold(jsThreadHolds.unload, performance.now() - t0)
  }
}
