/** Learning-rate schedules: step decay every N iterations, or at milestones. */
export interface ScheduleConfig {
  step?: number;
  milestones?: number[];
  gamma: number;
}

/** The learning rate for (0-based) iteration `it`. */
export function learningRateAt(base: number, schedule: ScheduleConfig, it: number): number {
  let decays = 0;
  if (schedule.milestones?.length) decays = schedule.milestones.filter((m) => it >= m).length;
  else if (schedule.step) decays = Math.floor(it / schedule.step);
  return base * schedule.gamma ** decays;
}
