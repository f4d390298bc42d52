/**
 * What every benchmark's service processes run with: the simulated engine with no artificial delay (its QR codes
 * outlive any run), and limits no load generator can reach. The rest (addresses, ports, queue) is the run's own.
 */
export const BENCH_SERVICE_ENV = {
  WA_ENGINE: 'simulated',
  SIM_FIRST_QR_DELAY_MS: '0',
  SIM_FIRST_QR_TTL_MS: '36000000',
  SIM_QR_TTL_MS: '36000000',
  SIM_READY_DELAY_MS: '0',
  SIM_RESTORE_DELAY_MS: '0',
  RATE_LIMIT_PER_MINUTE: '10000000',
  ACCOUNT_CREATIONS_PER_MINUTE: '10000000',
  FAILED_AUTHENTICATIONS_PER_MINUTE: '10000000',
  MAX_LIVE_ACCOUNTS_PER_WORKSPACE: '10000000',
};
