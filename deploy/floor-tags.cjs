// The rotation machine's tags publishing the deployment's floors (functions/commons/floor-tags.ts), as
// strings: serverless-step-functions turns a false or 0 tag value into an empty string.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');
const { floorsOf } = require('./schedules.cjs');

const { floorTags } = tsxRequire('../functions/commons/floor-tags.ts', __filename);

module.exports = async ({ resolveVariable }) => floorTags(await floorsOf(resolveVariable));
