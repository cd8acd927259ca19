// The Workloads view's label filter, in label-selector syntax (`app=web,tier!=db,env,!debug,
// zone in (a,b)`), matched in the browser against the one Workload watch the page already has,
// with the server's own parser.
import { LabelSelectorError, parseLabelSelector } from '../../schemas/label-selector.ts';

export type LabelFilter = { ok: true; matches(labels: Readonly<Record<string, string>> | undefined): boolean } | { ok: false; error: string };

export function parseLabelFilter(text: string): LabelFilter {
  try {
    const selector = parseLabelSelector(text, 'labels');
    return { ok: true, matches: (labels) => selector.matches(labels) };
  } catch (error) {
    if (error instanceof LabelSelectorError) return { ok: false, error: error.message };
    throw error;
  }
}
