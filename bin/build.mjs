// Bundles the CLI (packages/cli/src/main.ts and everything it imports from the workspace, plus
// effect) into dist/ with esbuild, so `meshkit` starts without a TypeScript loader resolving
// hundreds of modules through off-thread hooks (measured: ~2.5 s → well under 1 s).
// Third-party packages other than effect stay external (native addons, CJS, large optional deps).
// Run by bin/meshkit.js whenever a source file is newer than the bundle; also usable directly.
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
export const distDir = join(root, "dist")
const stampFile = join(distDir, "stamp.json")

/** Newest modification time of any workspace source file the bundle is built from. */
export const newestSourceMtime = () => {
  let newest = 0
  const walk = (dir) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (ent.name === "node_modules" || ent.name === "test") continue
      const p = join(dir, ent.name)
      if (ent.isDirectory()) walk(p)
      else if (/\.(ts|mts|mjs|js|json)$/.test(ent.name)) newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  walk(join(root, "packages"))
  newest = Math.max(newest, statSync(fileURLToPath(import.meta.url)).mtimeMs)
  return newest
}

export const bundleIsFresh = () => {
  try {
    const stamp = JSON.parse(readFileSync(stampFile, "utf8"))
    return stamp.sourceMtime >= newestSourceMtime()
  } catch {
    return false
  }
}

const bundled = (path) => path === "effect" || path.startsWith("effect/") || path.startsWith("@effect/") || path.startsWith("@meshkit/")

export const build = async () => {
  const esbuild = await import("esbuild")
  const sourceMtime = newestSourceMtime()
  const tmp = `${distDir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  await esbuild.build({
    // the benchmark's per-policy worker threads load their own entry: bundled too, so 11 of them
    // start in well under a second instead of ~2 s each through tsx
    entryPoints: { meshkit: join(root, "packages/cli/src/main.ts"), "bench-policy-worker": join(root, "packages/bench/src/policy/policy-worker.ts") },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outExtension: { ".js": ".mjs" },
    sourcemap: "linked",
    // tells bundled code where the bundle lives (code run from sources sees it undefined)
    define: { MESHKIT_BUNDLE_DIR: JSON.stringify(distDir) },
    logLevel: "error",
    plugins: [
      {
        name: "meshkit-externals",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => (bundled(args.path) || args.path.startsWith("node:") ? undefined : { path: args.path, external: true }))
          // Keep `import.meta.url` meaning "this source file", so code that finds files beside
          // itself (proto files, worker entry points, scenarios) works the same bundled or not.
          b.onLoad({ filter: /packages\/.*\.ts$/ }, (args) => {
            const src = readFileSync(args.path, "utf8")
            if (!src.includes("import.meta.url")) return undefined
            return { contents: src.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)), loader: "ts" }
          })
        }
      }
    ]
  })
  writeFileSync(join(tmp, "stamp.json"), JSON.stringify({ sourceMtime }))
  // Atomic swap: concurrent CLI starts either see the old bundle or the new one, never half.
  const old = `${distDir}.old-${process.pid}`
  try {
    renameSync(distDir, old)
  } catch {}
  try {
    renameSync(tmp, distDir)
  } catch {
    rmSync(tmp, { recursive: true, force: true }) // another process won the race
  }
  rmSync(old, { recursive: true, force: true })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await build()
  console.log(`built ${distDir}`)
}
