// Label selectors as the store takes them: the parser in schemas/, its errors as InvalidError.
import { LabelSelectorError, parseLabelSelector as parse, type LabelSelector } from '../schemas/label-selector.ts';
import { InvalidError } from './errors.ts';

export { selectorFromMap, type LabelSelector, type Requirement } from '../schemas/label-selector.ts';

export function parseLabelSelector(text: string, field = 'labelSelector'): LabelSelector {
  try {
    return parse(text, field);
  } catch (error) {
    if (error instanceof LabelSelectorError) throw new InvalidError([{ path: error.path, message: error.reason }]);
    throw error;
  }
}
