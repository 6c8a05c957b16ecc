import { redact, redactDeep } from './redact.js';

// The logger's redaction is the shared one (functions/commons/redact.ts), JSON held in strings included.
export { redact };

const LEVELS = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 } as const;
type Level = keyof typeof LEVELS;

/** Lambda's log level setting first (advanced logging controls), then Powertools' variable, else INFO. */
function threshold(): number {
  const name = (process.env.AWS_LAMBDA_LOG_LEVEL || process.env.POWERTOOLS_LOG_LEVEL || 'INFO').toUpperCase();
  return name in LEVELS ? LEVELS[name as Level] : LEVELS.INFO;
}

function write(level: 'INFO' | 'WARN', message: string, attributes: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold()) return;
  const trace = /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID ?? '')?.[1];
  const entry = {
    level,
    message,
    timestamp: new Date().toISOString(),
    service: 'iam-key-rotator',
    ...(trace ? { xray_trace_id: trace } : {}),
    ...attributes,
  };
  const line = JSON.stringify(redactDeep(entry));
  // POWERTOOLS_DEV: through the global console, which the local stack captures; else raw JSON lines.
  if (process.env.POWERTOOLS_DEV === 'true') (level === 'WARN' ? console.warn : console.info)(line);
  else (level === 'WARN' ? process.stderr : process.stdout).write(`${line}\n`);
}

/**
 * The one logger of every handler: JSON lines with secret-looking keys masked, in the shape and with
 * the level settings of Powertools' Logger, whose 24 KB a handler logging a line or two does not need.
 */
export const logger = {
  info: (message: string, attributes?: Record<string, unknown>) => write('INFO', message, attributes),
  warn: (message: string, attributes?: Record<string, unknown>) => write('WARN', message, attributes),
};
