import { validationError } from './errors.js';
import { optional } from './params.js';

/** IAM's default page when MaxItems is absent. */
const DEFAULT_MAX_ITEMS = 100;

/**
 * One page of an IAM list (the SDK model's `MaxItems`, 1-1000, default 100, and `Marker`) and the
 * response's `IsTruncated` and `Marker`. The marker names the first item of the next page (its
 * position and id), so a page boundary survives an item added or removed before it.
 */
export function iamPage<T>(
  params: URLSearchParams,
  items: T[],
  id: (item: T) => string,
): { page: T[]; IsTruncated: boolean; Marker?: string } {
  const max = optional(params, 'MaxItems');
  const maxItems = max === undefined ? DEFAULT_MAX_ITEMS : Number(max);
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) {
    throw validationError(max, 'maxItems', 'Member must have value between 1 and 1000');
  }
  const marker = optional(params, 'Marker');
  let start = 0;
  if (marker !== undefined) {
    const [position, ...rest] = Buffer.from(marker, 'base64url').toString('utf8').split('\n');
    const key = rest.join('\n');
    const at = Number(position);
    const atItem = items[at];
    start = atItem !== undefined && id(atItem) === key ? at : items.findIndex((i) => id(i) === key);
    if (start < 0) throw validationError(marker, 'marker', 'Member must be a marker this operation returned');
  }
  const page = items.slice(start, start + maxItems);
  const next = items[start + maxItems];
  return next === undefined
    ? { page, IsTruncated: false }
    : {
        page,
        IsTruncated: true,
        Marker: Buffer.from(`${start + maxItems}\n${id(next)}`, 'utf8').toString('base64url'),
      };
}
