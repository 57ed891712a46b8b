export {
  Admission,
  DEFAULT_ADMISSION,
  mergeAdmission,
  type AdmissionConfig,
  type AdmissionOverrides,
  type AdmissionSubject,
  type Admitted,
  type OverflowPolicy,
  type Refusal,
} from './admission.js';
export { Burst, type BurstLimits } from './burst.js';
export { DeadlineError, TurnDeadline } from './deadline.js';
export { MemoryAdmissionState, type AdmissionState } from './state.js';
