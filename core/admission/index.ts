export { Admission, DEFAULT_ADMISSION, type AdmissionConfig, type AdmissionSubject, type Admitted, type OverflowPolicy, type Refusal } from './admission.js';
export { MemoryAdmissionState, type AdmissionState } from './state.js';
