import fc from "fast-check"
const lens = fc.sample(fc.array(fc.nat(), { maxLength: 400 }), { numRuns: 200, seed: 1 }).map((a) => a.length)
console.log("maxLength 400:", Math.max(...lens), lens.reduce((a, b) => a + b) / lens.length)
const l2 = fc.sample(fc.array(fc.nat(), { maxLength: 400, size: "max" }), { numRuns: 200, seed: 1 }).map((a) => a.length)
console.log("size max:", Math.max(...l2), l2.reduce((a, b) => a + b) / l2.length)
