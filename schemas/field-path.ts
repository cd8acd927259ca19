// Turns JSON pointers into the paths people write: spec.ports[0].containerPort,
// metadata.labels["example.com/tier"]. The document is walked alongside, so a map key made of
// digits (a label "2024") is not mistaken for an array index.
export function pointerToPath(pointer: string, document: unknown): string {
  if (pointer === '') return '';
  let path = '';
  let node = document;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const isIndex = Array.isArray(node);
    path = isIndex ? `${path}[${segment}]` : appendKey(path, segment);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  }
  return path;
}

export function appendKey(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}
