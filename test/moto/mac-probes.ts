import { CreateKeyCommand, GenerateMacCommand, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import type { Outcome } from './probes.js';

type Try = (call: () => Promise<string | undefined>, options?: { message?: boolean }) => Promise<Outcome>;

const message = new TextEncoder().encode('["iam-key-rotator/pin/v1","123456789012","AIDA","/team/app"]');

/**
 * The HMAC calls the pin and claim tags need (issue 16), tried with the same requests on one
 * endpoint: `kms` may call everything, `asRole` is a role whose policy allows no KMS action.
 */
export async function macProbes(
  kms: KMSClient,
  asRole: KMSClient,
  outcome: Try,
): Promise<Record<string, Outcome>> {
  const results: Record<string, Outcome> = {};
  const created = await kms.send(
    new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }),
  );
  const key = created.KeyMetadata?.KeyId ?? '';
  const { KeySpec, KeyUsage, MacAlgorithms } = created.KeyMetadata ?? {};
  results['CreateKey HMAC_256'] = `ok: ${KeySpec}, ${KeyUsage}, ${MacAlgorithms?.join(' ')}`;
  results['CreateKey HMAC_256 with ENCRYPT_DECRYPT'] = await outcome(async () => {
    await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' }));
    return undefined;
  });
  const generate = (client: KMSClient, input: Partial<ConstructorParameters<typeof GenerateMacCommand>[0]>) =>
    client.send(
      new GenerateMacCommand({ KeyId: key, Message: message, MacAlgorithm: 'HMAC_SHA_256', ...input }),
    );
  const { Mac } = await generate(kms, {});
  const verify = (signed: Uint8Array, mac: Uint8Array | undefined) =>
    outcome(async () => {
      const out = await kms.send(
        new VerifyMacCommand({ KeyId: key, Message: signed, Mac: mac, MacAlgorithm: 'HMAC_SHA_256' }),
      );
      return `${String(out.MacValid)}, ${out.KeyId ?? 'no KeyId'}`;
    });
  results['GenerateMac'] = await outcome(async () => {
    const out = await generate(kms, {});
    return `${out.Mac?.length ?? 0} bytes, ${out.MacAlgorithm ?? '-'}, ${out.KeyId ?? 'no KeyId'}`;
  });
  results['VerifyMac of that MAC'] = await verify(message, Mac);
  results['VerifyMac of a changed message'] = await verify(new TextEncoder().encode('["changed"]'), Mac);
  results['VerifyMac of a truncated MAC'] = await verify(message, Mac?.subarray(0, 16));
  const generated = (input: Parameters<typeof generate>[1], client = kms) =>
    outcome(
      async () => {
        await generate(client, input);
        return undefined;
      },
      { message: client !== kms },
    );
  results['GenerateMac with HMAC_SHA_512 on an HMAC_256 key'] = await generated({
    MacAlgorithm: 'HMAC_SHA_512',
  });
  const encryptionKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId;
  results['GenerateMac with an encryption key'] = await generated({ KeyId: encryptionKey });
  results['GenerateMac of 4097 bytes'] = await generated({ Message: new Uint8Array(4097) });
  results['GenerateMac DryRun'] = await generated({ DryRun: true });
  results['kms:GenerateMac by a role without it'] = await generated({}, asRole);
  return Object.fromEntries(
    Object.entries(results).map(([name, seen]) => [name, seen.replaceAll(key, '<hmac-key>')]),
  );
}
