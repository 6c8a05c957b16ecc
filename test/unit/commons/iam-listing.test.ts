import { describe, expect, it } from 'vitest';
import { takeInOrder } from '../../../functions/commons/iam-listing.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));

describe('takeInOrder', () => {
  it('takes items in order until it has the number wanted, never more at once than the limit', async () => {
    let running = 0;
    let most = 0;
    const taken: number[] = [];
    const tried = await takeInOrder([...Array(20).keys()], 7, 4, async (item) => {
      most = Math.max(most, (running += 1));
      await tick();
      running -= 1;
      taken.push(item);
      return true;
    });
    expect(tried).toBe(7);
    expect(taken.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('an item not taken frees its place for the next one: exactly the number wanted when enough can be', async () => {
    const taken: number[] = [];
    // Every third item cannot be taken (a user that cannot be placed).
    const tried = await takeInOrder([...Array(30).keys()], 10, 4, async (item) => {
      await tick();
      if (item % 3 === 0) return false;
      taken.push(item);
      return true;
    });
    expect(taken.sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 7, 8, 10, 11, 13, 14]);
    expect(tried).toBe(15);
  });

  it('tries every item when fewer can be taken than wanted', async () => {
    expect(await takeInOrder([1, 2, 3], 5, 2, async (item) => item !== 2)).toBe(3);
    expect(await takeInOrder([], 5, 2, async () => true)).toBe(0);
  });
});
