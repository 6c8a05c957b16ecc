import * as z from './zod.js';
import { DEFAULT_FLOORS, FloorSettings, type Floors } from './input.js';

/**
 * A deployment publishes its floors as tags of its state machine (`iam-key-rotator:minGraceSeconds`...),
 * so that a client can refuse input below them before it starts an execution.
 */
export const FLOOR_TAG_PREFIX = 'iam-key-rotator:';

const NAMES = Object.keys(DEFAULT_FLOORS) as (keyof Floors)[];

/** The tags publishing a deployment's floors, values as strings. */
export function floorTags(floors: Floors): Record<string, string> {
  return Object.fromEntries(NAMES.map((name) => [`${FLOOR_TAG_PREFIX}${name}`, String(floors[name])]));
}

/** The floors a state machine's tags publish; a floor without a (well-formed) tag is left out: unknown. */
export function floorsFromTags(tags: readonly { key?: string; value?: string }[]): Partial<Floors> {
  const known: Partial<Record<keyof Floors, number | boolean>> = {};
  for (const name of NAMES) {
    const value = tags.find((tag) => tag.key === `${FLOOR_TAG_PREFIX}${name}`)?.value;
    if (value === undefined) continue;
    const parsed = z.safeParse(FloorSettings.shape[name], value);
    if (parsed.success) known[name] = parsed.data;
  }
  return known as Partial<Floors>;
}
