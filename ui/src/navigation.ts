// Moving between views without reloading: history.pushState, then an event the app listens for
// (popstate covers the browser's back and forward buttons).
export const NAVIGATE_EVENT = 'lattice:navigate';

export function navigate(href: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}
