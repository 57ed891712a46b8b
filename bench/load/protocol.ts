/** IPC between the load benchmark's driver and the bot process it measures. */

export type DriverMessage =
  /** Start a measured phase: reset the event-loop histogram and the RSS peak. */
  | { type: 'begin' }
  /** End the phase and report what the bot process saw during it. */
  | { type: 'end' };

export type BotMessage =
  | { type: 'ready'; socketUrl: string }
  | { type: 'phase'; eventLoopDelay: EventLoopFigures; peakRssMb: number };

export interface EventLoopFigures {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}
