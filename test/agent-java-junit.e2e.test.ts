// The Java agent's own suite (JUnit 5 unit tests, then AgentIT on the built jar) inside `npm test`,
// run with `mvn verify` on the JDK 25 of this machine, where AgentIT's virtual-thread case runs
// (the other Java e2e tests build the agent on the default JDK 17). Maven's exit code decides; the
// JUnit reports then show what ran, and on which JVM.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JAVA_AGENT_DIR, JDK25_HOME, runMaven, withMavenLock } from './helpers/java.js';
import { tail } from './helpers/process.js';

interface Suite {
  file: string;
  javaVersion: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: string[];
}

/** The JUnit XML reports of one plugin's run: per suite, the JVM's version, the counts and the skipped cases. */
function readReports(dir: string): Suite[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^TEST-.*\.xml$/.test(f))
    .map((file) => {
      const xml = readFileSync(join(dir, file), 'utf8');
      const suite = /<testsuite [^>]*tests="(\d+)" errors="(\d+)" skipped="\d+" failures="(\d+)"/.exec(xml);
      const skipped = [...xml.matchAll(/<testcase name="([^"]+)"[^>]*>\s*<skipped/g)].map((m) => m[1]!);
      return {
        file,
        javaVersion: /<property name="java.specification.version" value="([^"]+)"/.exec(xml)?.[1] ?? '?',
        tests: Number(suite?.[1] ?? 0),
        errors: Number(suite?.[2] ?? 0),
        failures: Number(suite?.[3] ?? 0),
        skipped,
      };
    });
}

describe('the Java agent’s JUnit suite', () => {
  it('passes `mvn verify` on JDK 25, virtual threads included', { timeout: 900_000 }, async () => {
    expect(existsSync(join(JDK25_HOME, 'bin/java')), `a JDK 25 at ${JDK25_HOME}`).toBe(true);
    const surefire = join(JAVA_AGENT_DIR, 'target/surefire-reports');
    const failsafe = join(JAVA_AGENT_DIR, 'target/failsafe-reports');
    const result = await withMavenLock(async () => {
      // Reports of an earlier run must not stand in for this one's.
      rmSync(surefire, { recursive: true, force: true });
      rmSync(failsafe, { recursive: true, force: true });
      return runMaven(['-f', join(JAVA_AGENT_DIR, 'pom.xml'), 'verify'], {
        env: { JAVA_HOME: JDK25_HOME, PATH: `${JDK25_HOME}/bin:${process.env.PATH}` },
        timeoutMs: 600_000,
      });
    });
    if (result.code !== 0) throw new Error(`mvn verify on JDK 25 failed (exit ${result.code}); the end of its output:\n${tail(result.output, 80)}`);

    const units = readReports(surefire);
    const its = readReports(failsafe);
    const all = [...units, ...its];
    expect(units.length, 'JUnit unit test classes run').toBeGreaterThan(0);
    expect(its.map((s) => s.file)).toContain('TEST-dev.flowtrace.agent.it.AgentIT.xml');
    for (const s of all) {
      expect(s.javaVersion, `${s.file} ran on`).toBe('25');
      expect(s.failures + s.errors, `${s.file} failures and errors`).toBe(0);
    }
    const agentIt = readFileSync(join(failsafe, 'TEST-dev.flowtrace.agent.it.AgentIT.xml'), 'utf8');
    expect(agentIt).toMatch(/<testcase name="virtualThreadsKeepTheParent"[^>]*\/>/); // run and passed: no <skipped/> inside
    expect(its.flatMap((s) => s.skipped)).toEqual([]);
    console.log(`JDK 25: ${units.reduce((n, s) => n + s.tests, 0)} unit tests in ${units.length} classes, ${its.reduce((n, s) => n + s.tests, 0)} integration tests`);
  });
});
