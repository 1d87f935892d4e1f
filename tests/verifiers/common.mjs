// What every verifier script shares: read {now, config, cases} as JSON on stdin, freeze
// the clock at `now` (only Date: timers and sockets keep real time), run each case through
// the official verifier and print one JSON verdict per case: {name, ok, error?, ...}.
import FakeTimers from "@sinonjs/fake-timers";

export async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  FakeTimers.install({ now: input.now * 1000, toFake: ["Date"] });
  return input;
}

export async function runCases(cases, verify) {
  const verdicts = [];
  for (const testCase of cases) {
    try {
      const found = (await verify(testCase)) ?? {};
      verdicts.push({ name: testCase.name, ok: true, ...found });
    } catch (error) {
      const message = String(error?.message ?? error).slice(0, 300);
      verdicts.push({ name: testCase.name, ok: false, error: message, ...(error?.extra ?? {}) });
    }
  }
  process.stdout.write(JSON.stringify(verdicts) + "\n");
}
