import { rollIndices, stepShift } from '../../src/core/roll';

describe('rollIndices', () => {
  it('rolls an axis cyclically, and the negative shift undoes it', () => {
    expect(rollIndices(5, 2)).toEqual([2, 3, 4, 0, 1]);
    expect(rollIndices(5, 0)).toEqual([0, 1, 2, 3, 4]);
    const forward = rollIndices(7, 3);
    const back = rollIndices(7, -3);
    // x rolled, then rolled back: back[i] indexes the rolled axis, whose element forward[back[i]] is x's.
    expect(back.map((i) => forward[i])).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('stepShift', () => {
  it('is the same for the same step, below the period, and 0 for a period of 1', () => {
    expect(stepShift(12, 4)).toEqual(stepShift(12, 4));
    expect(stepShift(12, 1)).toEqual([0, 0]);
    for (let step = 0; step < 200; step++) for (const v of stepShift(step, 4)) expect(v >= 0 && v < 4).toBe(true);
  });

  it('visits every one of the period x period shifts about equally often', () => {
    const counts = new Map<string, number>();
    for (let step = 0; step < 1600; step++) {
      const key = stepShift(step, 4).join();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(n > 60 && n < 140).toBe(true);
  });
});
