#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so the repository needs no build step.
import { register } from 'tsx/esm/api';

// The deployed runtime is Node 22; the SDK's warning about Node 20 is noise for local runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Powertools then logs through the global console, which the local runs capture (handlers run
// in-process there): set before any module constructs the handlers' logger.
process.env.POWERTOOLS_DEV ??= 'true';

register();
await import('../cli/main.ts');
