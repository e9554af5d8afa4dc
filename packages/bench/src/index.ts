/**
 * @meshkit/bench: every meshkit benchmark, the `bench compare` gate and the simulator fidelity
 * check. The CLI's `bench`, `bench-core` and `fidelity` commands parse their flags and call these.
 * Folders by benchmark: policy/ (eviction policy core), sim/ (simulator throughput), hit-path/,
 * cold-start/, density/ (the server against a bare baseline), server/ (codec and runtime
 * micro-benchmarks), fidelity/ (real server vs calibrated simulator); report/ holds the report
 * file, its figures and the runner, compare/ the gate, harness/ child processes and load.
 */
export { runBench, type BenchOptions } from "./report/runner.js"
export { DEFAULT_PARTS, PARTS, type Part, type PartContext, type PartName, type PartResult } from "./report/parts.js"
export { BenchFileError, BenchReport, decodeBenchReport, Figure, MachineFacts, type Target } from "./report/figures.js"
export { machineFacts } from "./report/machine.js"
export { compareMarkdown, compareReports, type CompareRow, type Comparison, type Verdict } from "./compare/compare.js"
export { benchCompare, COMPARE_BAD_INPUT, COMPARE_PASSED, COMPARE_REGRESSED } from "./compare/compare-files.js"
export { runCoreBench } from "./policy/eviction-bench.js"
export { runFidelity, type FidelityOptions, type FidelityResult } from "./fidelity/fidelity.js"
export { fidelityText, writeFidelityReport } from "./fidelity/fidelity-report.js"
export { runFidelityRepeated, summarize as summarizeFidelityRuns, REQUIRED_SHARE, type RepeatedFidelity, type Spread } from "./fidelity/repeat.js"
export { repeatedText, writeRepeatedReport } from "./fidelity/repeat-report.js"
export { attribute, cdfMean, type Attribution, type Decomposition } from "./fidelity/decomposition.js"
export { backgroundOf } from "./fidelity/same-run-levels.js"
export { slowdownOf } from "./fidelity/slowdown-of.js"
export type { SchedTimeline } from "./fidelity/real-run.js"
export { runReplay, writeReplayReport, ReplayInputError, type ReplayOptions } from "./replay/run-replay.js"
export { compareReplay, replayMarkdown, replaySpec, reportReplay, type ReplayRow } from "./replay/replay-compare.js"
export { isReplayFile, replayCompareFiles, ReplayFileError } from "./replay/replay-files.js"
export { isReplayReport, REPLAY_KIND, type ReplayReport, type ReplaySide, type ReplayThresholds } from "./replay/replay-report.js"
