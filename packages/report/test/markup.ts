// Test helpers that read rendered markup without a DOM: the element tree as tag names, and attributes.

export interface Element {
  readonly name: string
  readonly attrs: Record<string, string>
  readonly children: Element[]
  text: string
}

const TAG = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*(\/?)>|<!--[\s\S]*?-->|<!doctype[^>]*>/gi
const ATTR = /([\w:-]+)(?:="([^"]*)")?/g
const VOID = new Set(["meta", "br", "link", "img", "input", "hr"])

const decode = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&")

/**
 * Parses markup that must be well formed (every element closed in order) into a tree; throws on a
 * stray "<" in text or a mismatched close tag, which is what broken escaping produces.
 */
export const parseMarkup = (markup: string): Element => {
  const root: Element = { name: "#root", attrs: {}, children: [], text: "" }
  const stack: Element[] = [root]
  let last = 0
  const addText = (raw: string) => {
    const top = stack[stack.length - 1]!
    if (top.name === "style") {
      top.text += raw
      return
    }
    if (raw.includes("<") || raw.includes(">")) throw new Error(`raw angle bracket in text: ${JSON.stringify(raw.slice(0, 80))}`)
    top.text += decode(raw)
  }
  for (const m of markup.matchAll(TAG)) {
    addText(markup.slice(last, m.index))
    last = m.index! + m[0].length
    if (m[2] === undefined) continue // comment or doctype
    const [, closing, name, attrText, selfClosing] = m
    const lower = name!.toLowerCase()
    if (closing) {
      const top = stack.pop()!
      if (top.name !== lower) throw new Error(`</${lower}> closes <${top.name}>`)
      continue
    }
    const attrs: Record<string, string> = {}
    for (const a of attrText!.matchAll(ATTR)) attrs[a[1]!] = decode(a[2] ?? "")
    const el: Element = { name: lower, attrs, children: [], text: "" }
    stack[stack.length - 1]!.children.push(el)
    if (!selfClosing && !VOID.has(lower)) stack.push(el)
  }
  addText(markup.slice(last))
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`)
  return root
}

export const findAll = (el: Element, pred: (e: Element) => boolean): Element[] => {
  const out: Element[] = []
  const walk = (e: Element) => {
    if (pred(e)) out.push(e)
    e.children.forEach(walk)
  }
  walk(el)
  return out
}

export const byName = (el: Element, name: string) => findAll(el, (e) => e.name === name)
export const byClass = (el: Element, cls: string) => findAll(el, (e) => (e.attrs.class ?? "").split(/\s+/).includes(cls))

/** All text inside an element, children included, in document order. */
export const textOf = (el: Element): string => el.text + el.children.map(textOf).join("")
