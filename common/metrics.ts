// What both programs' default metrics share.

/**
 * How often prom-client's event-loop lag histogram samples (nodejs_eventloop_lag_*), in ms. Its
 * default, 10 ms, wakes an idle process 100 times a second: 80 % of an idle gateway's CPU (1.0 % of
 * a core against 0.2 % at 100 ms, measured with bench/sync-hop.ts's idle figure). Each sample still
 * measures the lag to the nanosecond; there are only fewer of them.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;
