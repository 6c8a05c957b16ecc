export { ROTATOR_MACHINE_NAME, rotatorMachine, type RotatorMachineOptions } from './rotator.js';
export type { MachineRun, MachineSpec } from './machines.js';
export { StepFunctions } from './service.js';
export { aslMachine, type AslMachineOptions } from './asl-machine.js';
