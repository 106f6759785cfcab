/**
 * kubelet's `$(VAR)` expansion for env values, command and args (the
 * semantics of k8s.io/kubernetes third_party/forked/golang/expansion):
 * `$(NAME)` becomes the mapped value, `$$` a literal `$`, and anything
 * unresolvable (unknown name, unclosed `$(`, `$x`) is kept as written.
 */
export type Lookup = (name: string) => string | undefined;

/** A lookup over maps tried in order; the first that has the name wins. */
export function lookupIn(...maps: ReadonlyMap<string, string>[]): Lookup {
  return (name) => {
    for (const m of maps) {
      const v = m.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

export function expand(input: string, lookup: Lookup): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    // A trailing lone `$` is left in the tail, as in kubelet.
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close === -1) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next ?? ''}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
