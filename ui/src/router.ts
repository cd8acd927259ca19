// The UI's addresses. Every view has a real path, so a link can be opened, reloaded or shared;
// the server answers any path outside /api with index.html and this picks the view.

export type Route =
  | { view: 'workloads'; namespace: string; labels: string }
  | { view: 'workload'; namespace: string; name: string }
  | { view: 'agents' }
  | { view: 'events' }
  | { view: 'not-found'; path: string };

export function parseRoute(pathname: string, search: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'workloads')) {
    return { view: 'workloads', namespace: query.get('namespace') ?? '', labels: query.get('labels') ?? '' };
  }
  if (parts[0] === 'workloads' && parts.length === 3) return { view: 'workload', namespace: parts[1]!, name: parts[2]! };
  if (parts.length === 1 && parts[0] === 'agents') return { view: 'agents' };
  if (parts.length === 1 && parts[0] === 'events') return { view: 'events' };
  return { view: 'not-found', path: pathname };
}

export function workloadHref(namespace: string, name: string): string {
  return `/workloads/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export function workloadsHref(filter: { namespace?: string; labels?: string }): string {
  const query = new URLSearchParams();
  if (filter.namespace) query.set('namespace', filter.namespace);
  if (filter.labels) query.set('labels', filter.labels);
  const text = query.toString();
  return text ? `/workloads?${text}` : '/workloads';
}
