import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Field names that could carry a patient's identity. Code must not log them; if one slips into a
 * log call anyway it is censored rather than written.
 */
const PATIENT_FIELDS = [
  'patientName',
  'PatientName',
  'patientId',
  'PatientID',
  'birthDate',
  'PatientBirthDate',
  'name',
  'identifier',
];

/** Structured JSON logs on stdout, one line per event, with the service name on every line. */
export function createLogger(service: string, level: string = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [...PATIENT_FIELDS, ...PATIENT_FIELDS.map((field) => `*.${field}`)],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
