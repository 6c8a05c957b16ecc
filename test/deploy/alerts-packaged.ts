// The alerts, the dashboard and the HTTP trigger's settings on a packaged template: what
// deploy/template.cjs cannot see alone (the state machines and functions are the framework's and
// the plugin's). test/deploy/package.test.ts and configured.test.ts run these on the templates they
// package already; cfn-lint runs there too.
import { describe, expect, it } from 'vitest';
import { type Packaged, references, subValues } from './template.js';

export function describeAlertsPackaged(
  get: () => Packaged,
  shape: { httpTrigger: boolean; memberAccounts: boolean },
): void {
  const resources = () => get().resources;

  describe('the alerts, the dashboard and the HTTP trigger, packaged', () => {
    it('refers only to resources the packaged template has (machines, functions, keys, roles, bucket)', () => {
      const ids = [
        'Dashboard',
        'KeyAgeAlarm',
        'KeyTamperRule',
        'StateMachineTamperRule',
        'FleetBucketTamperRule',
        'RoleTamperRule',
        'RotatorTagTamperRule',
        'OutOfBandChangeRule',
      ];
      for (const id of ids) {
        expect(resources()[id], id).toBeDefined();
        // A name an Fn::Sub's own variables give is no resource of the template.
        const local = Object.keys(subValues(resources()[id]));
        const missing = [...references(resources()[id])].filter(
          (ref) => !ref.startsWith('AWS::') && !local.includes(ref) && !(ref in resources()),
        );
        expect(missing, id).toEqual([]);
      }
      // The dashboard's Fn::Sub variables: each machine and function it charts is in the template.
      const [, variables] = (
        resources().Dashboard?.Properties.DashboardBody as { 'Fn::Sub': [string, object] }
      )['Fn::Sub'];
      for (const ref of references(variables))
        expect(resources()[ref]?.Type, ref).toMatch(/StateMachine|Lambda::Function/);
    });

    it('watches every role of the packaged template the rotator made (not the plugin’s schedule roles)', () => {
      const watched = references(resources().RoleTamperRule?.Properties.EventPattern);
      const roles = Object.keys(resources()).filter((id) => resources()[id]?.Type === 'AWS::IAM::Role');
      const unwatched = roles.filter((id) => !watched.has(id));
      expect(
        unwatched.every((id) => /ScheduleToStepFunctionsRole$/.test(id)),
        unwatched.join(', '),
      ).toBe(true);
    });

    it(`${shape.memberAccounts ? 'admits' : 'does not admit'} member accounts’ IAM changes on the bus`, () => {
      expect(resources().MemberAccountsForwardIamChanges !== undefined).toBe(shape.memberAccounts);
      expect(get().outputs.RotatorEventBusArn).toBeDefined();
    });

    if (shape.httpTrigger) {
      it('serves POST /rotations behind a resource policy, throttled, with an access log kept logRetentionDays', () => {
        expect(JSON.stringify(resources().RotationsApi?.Properties.Policy)).toContain('"Sid":"NobodyElse"');
        const stage = resources().RotationsApiStage?.Properties ?? {};
        expect(stage.MethodSettings).toEqual([
          { ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 1, ThrottlingBurstLimit: 5 },
        ]);
        expect(stage.AccessLogSetting).toMatchObject({
          DestinationArn: { 'Fn::GetAtt': ['RotationsApiAccessLogs', 'Arn'] },
        });
        expect(resources().RotationsApiAccessLogs?.Properties.RetentionInDays).toBe(30);
        expect(resources().ApiGatewayAccount?.Type).toBe('AWS::ApiGateway::Account');
      });
    }
  });
}
