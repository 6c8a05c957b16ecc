// Builds the state machine's schedule events from `custom.rotations`: one rule per user, each
// carrying that user's execution input.
module.exports = async ({ resolveVariable }) => {
  const rotations = (await resolveVariable('self:custom.rotations')) || [];
  return rotations.map(({ schedule, enabled, ...input }) => ({
    schedule: {
      rate: schedule || '${self:custom.defaultSchedule}',
      enabled: enabled !== false,
      input,
    },
  }));
};
