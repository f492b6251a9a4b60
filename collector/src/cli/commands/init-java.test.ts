import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../command.js';
import { main } from '../main.js';
import { detectJavaProject, initJavaCommand, topLevelPackage } from './init-java.js';
import { outputSink as sink, runInProject, writeProjectFile } from './project-dir.testing.js';

let dir: string;
const AGENT = '/opt/flowtrace/flowtrace-agent.jar';

const write = (rel: string, content: string) => writeProjectFile(dir, rel, content);
const run = (argv: string[]) => runInProject(initJavaCommand, argv, dir);

const MAVEN_PLAIN = `<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId>
  <artifactId>inventory</artifactId>
  <version>1.4.0</version>
  <!-- <artifactId>commented-out</artifactId> -->
  <dependencies>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>2.0.17</version>
    </dependency>
  </dependencies>
</project>
`;

const MAVEN_BOOT = `<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.5.7</version>
  </parent>
  <groupId>com.acme</groupId>
  <artifactId>shop</artifactId>
  <version>0.0.1-SNAPSHOT</version>
  <dependencies>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.springframework.boot</groupId>
        <artifactId>spring-boot-maven-plugin</artifactId>
      </plugin>
    </plugins>
  </build>
</project>
`;

const GRADLE_KTS_BOOT = `plugins {
    java
    id("org.springframework.boot") version "3.5.7"
    id("io.spring.dependency-management") version "1.1.7"
}

group = "io.payments"
version = "2.1.0"

dependencies {
    implementation("org.springframework.boot:spring-boot-starter-web")
}
`;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowtrace-init-java-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('flowtrace init java', () => {
  it('takes the include from the main class of a plain Maven project', async () => {
    write('pom.xml', MAVEN_PLAIN);
    write('src/main/java/com/acme/inventory/app/Main.java', 'package com.acme.inventory.app;\n\npublic class Main {\n  public static void main(String[] args) {}\n}\n');
    write('src/main/java/com/acme/inventory/Stock.java', 'package com.acme.inventory;\n\npublic class Stock {}\n');
    write('src/test/java/com/acme/inventory/StockTest.java', 'package com.acme.inventory;\nclass StockTest { public static void main(String[] a) {} }\n');
    const { code, out, err } = await run(['--agent', AGENT]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('# FlowTrace agent for inventory (Maven, main class com.acme.inventory.app.Main)');
    expect(out).toContain('# main class from src/main/java/com/acme/inventory/app/Main.java');
    expect(out).toContain('export OTEL_SERVICE_NAME=inventory');
    expect(out).toContain('export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318');
    expect(out).toContain('export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf');
    expect(out).toContain('export FLOWTRACE_INCLUDE=com.acme\n');
    expect(out).toContain(`java -javaagent:${AGENT} -cp <your class path> com.acme.inventory.app.Main`);
    expect(out).toContain(`export JAVA_TOOL_OPTIONS=-javaagent:${AGENT}`);
    expect(out).not.toContain('spring-boot');
    expect(out).not.toContain('FLOWTRACE_CAPTURE_ARGS');
  });

  it('finds the @SpringBootApplication class of a Maven Spring Boot project and prints spring-boot:run', async () => {
    write('pom.xml', MAVEN_BOOT);
    write('src/main/java/com/acme/shop/tools/Seed.java', 'package com.acme.shop.tools;\npublic class Seed { public static void main(String[] args) {} }\n');
    write(
      'src/main/java/com/acme/shop/ShopApplication.java',
      'package com.acme.shop;\n\nimport org.springframework.boot.SpringApplication;\nimport org.springframework.boot.autoconfigure.SpringBootApplication;\n\n@SpringBootApplication\npublic class ShopApplication {\n  public static void main(String[] args) {\n    SpringApplication.run(ShopApplication.class, args);\n  }\n}\n',
    );
    const { code, out } = await run(['--agent', AGENT, '--capture-args', '--endpoint', 'http://collector:4318']);
    expect(code).toBe(0);
    expect(out).toContain('# FlowTrace agent for shop (Maven, Spring Boot, main class com.acme.shop.ShopApplication)');
    expect(out).toContain('# main class from @SpringBootApplication in src/main/java/com/acme/shop/ShopApplication.java');
    expect(out).toContain('export OTEL_SERVICE_NAME=shop');
    expect(out).toContain('export OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318');
    expect(out).toContain('export FLOWTRACE_INCLUDE=com.acme\n');
    expect(out).toContain('export FLOWTRACE_CAPTURE_ARGS=true');
    expect(out).toContain(`java -javaagent:${AGENT} -jar target/shop-0.0.1-SNAPSHOT.jar`);
    expect(out).toContain(`mvn spring-boot:run -Dspring-boot.run.jvmArguments=-javaagent:${AGENT}`);
    expect(out).toContain(`export JAVA_TOOL_OPTIONS=-javaagent:${AGENT}`);
  });

  it('reads a Gradle Kotlin DSL Spring Boot project: rootProject.name, version, bootRun', async () => {
    write('settings.gradle.kts', 'rootProject.name = "payments"\n');
    write('build.gradle.kts', GRADLE_KTS_BOOT);
    write('src/main/kotlin/io/payments/api/PaymentsApplication.kt', 'package io.payments.api\n\n@SpringBootApplication\nclass PaymentsApplication\n\nfun main(args: Array<String>) {\n    runApplication<PaymentsApplication>(*args)\n}\n');
    const { code, out } = await run(['--agent', AGENT, '--service', 'payments-api']);
    expect(code).toBe(0);
    expect(out).toContain('# FlowTrace agent for payments (Gradle, Kotlin DSL, Spring Boot, main class io.payments.api.PaymentsApplication)');
    expect(out).toContain('export OTEL_SERVICE_NAME=payments-api');
    expect(out).toContain('export FLOWTRACE_INCLUDE=io.payments\n');
    expect(out).toContain(`java -javaagent:${AGENT} -jar build/libs/payments-2.1.0.jar`);
    expect(out).toContain('# or from the sources, ./gradlew bootRun with this in build.gradle.kts:');
    expect(out).toContain(`tasks.bootRun { jvmArgs("-javaagent:${AGENT}") }`);
    expect(out).not.toContain('mvn ');
  });

  it('prefers the main class the build names, and --main and --include over both', async () => {
    write(
      'build.gradle',
      "plugins {\n  id 'application'\n}\n// mainClass = 'com.old.Main'\napplication {\n  mainClass = 'org.example.billing.cli.BillingMain'\n}\n",
    );
    write('src/main/java/org/example/billing/cli/Other.java', 'package org.example.billing.cli;\nclass Other { public static void main(String[] a) {} }\n');
    const p = detectJavaProject(dir);
    expect(p).toMatchObject({ build: 'gradle-groovy', springBoot: false, mainClass: 'org.example.billing.cli.BillingMain', mainFrom: 'build.gradle' });
    const { out } = await run(['--agent', AGENT]);
    expect(out).toContain('export FLOWTRACE_INCLUDE=org.example\n');
    expect(out).toContain(`run { jvmArgs '-javaagent:${AGENT}' }`);
    const given = await run(['--agent', AGENT, '--main', 'net.acme.Tool', '--include', 'net.acme.tool, net.acme.core']);
    expect(given.out).toContain('main class net.acme.Tool)');
    expect(given.out).toContain('export FLOWTRACE_INCLUDE=net.acme.tool,net.acme.core\n');
  });

  it('reads the Spring Boot start-class of a multi-module Maven build and lists the other main classes', async () => {
    write('pom.xml', MAVEN_PLAIN.replace('<artifactId>inventory</artifactId>', '<artifactId>suite</artifactId>').replace('</project>', '<properties><start-class>com.acme.suite.web.WebApp</start-class></properties>\n</project>'));
    write('web/src/main/java/com/acme/suite/web/WebApp.java', 'package com.acme.suite.web;\npublic class WebApp { public static void main(String[] a) {} }\n');
    write('batch/src/main/java/com/acme/suite/batch/Job.java', 'package com.acme.suite.batch;\npublic class Job { public static void main(String[] a) {} }\n');
    expect(detectJavaProject(dir)).toMatchObject({ name: 'suite', mainClass: 'com.acme.suite.web.WebApp', mainFrom: 'pom.xml', sourcePackages: ['com.acme'] });
    rmSync(join(dir, 'pom.xml'));
    write('pom.xml', MAVEN_PLAIN);
    const p = detectJavaProject(dir);
    expect(p.mainClass).toBe('com.acme.suite.batch.Job');
    expect(p.otherMains).toEqual(['com.acme.suite.web.WebApp']);
    expect((await run(['--agent', AGENT])).out).toContain('# other main classes: com.acme.suite.web.WebApp (pick one with --main)');
  });

  it('follows the agent for short and default-package main classes', async () => {
    expect(topLevelPackage('com.acme.shop.Main')).toBe('com.acme');
    expect(topLevelPackage('shop.Main')).toBe('shop');
    expect(topLevelPackage('Main')).toBeUndefined();
    write('pom.xml', MAVEN_PLAIN);
    write('src/main/java/Main.java', 'public class Main { public static void main(String[] args) {} }\n');
    const { out } = await run(['--agent', AGENT]);
    expect(out).toContain('main class Main)');
    expect(out).toContain('# FLOWTRACE_INCLUDE unset: the main class is in the default package');
  });

  it('proposes the source packages when there is no main class', async () => {
    write('pom.xml', MAVEN_PLAIN);
    write('src/main/java/com/acme/lib/Util.java', 'package com.acme.lib;\npublic class Util {}\n');
    write('src/main/java/org/demo/x/Y.java', 'package org.demo.x;\n// public static void main(String[] a) {}\npublic class Y {}\n');
    const { code, out } = await run(['--agent', AGENT]);
    expect(code).toBe(0);
    expect(out).toContain('(Maven, main class not found)');
    expect(out).toContain('export FLOWTRACE_INCLUDE=com.acme,org.demo\n');
    expect(out).toContain('java -javaagent:/opt/flowtrace/flowtrace-agent.jar -cp <your class path> <main class>');
  });

  it('points at this checkout\'s agent jar by default', async () => {
    write('pom.xml', MAVEN_PLAIN);
    write('src/main/java/com/acme/A.java', 'package com.acme;\npublic class A { public static void main(String[] a) {} }\n');
    const { out } = await run([]);
    expect(out).toMatch(/^# agent: \/.*\/agents\/java\/target\/flowtrace-agent\.jar$/m);
    const agent = /^# agent: (.*)$/m.exec(out)![1]!;
    expect(out).toContain(`-javaagent:${agent}`);
  });

  it('exits 2 with a clear message for a missing folder or a folder with no Java build', async () => {
    const missing = await run(['no-such-dir']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`flowtrace init java: ${join(dir, 'no-such-dir')} does not exist\n`);
    write('package.json', '{}');
    const notJava = await run([]);
    expect(notJava.code).toBe(2);
    expect(notJava.err).toContain('no pom.xml, build.gradle or build.gradle.kts in');
    expect(notJava.out).toBe('');
    write('pom.xml', MAVEN_PLAIN);
    const empty = await run([]);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('no Java or Kotlin sources under src/main');
    await expect(run(['--write'])).rejects.toBeInstanceOf(UsageError);
    await expect(run(['--endpoint', 'localhost:4318'])).rejects.toThrow('--endpoint');
    await expect(run(['--main', 'com.acme.Main; rm -rf /'])).rejects.toThrow('--main');
    await expect(run(['a', 'b'])).rejects.toBeInstanceOf(UsageError);
  });

  it('is a command of the CLI, with its help', async () => {
    const out = sink();
    const err = sink();
    const code = await main(['init', 'java', '--help'], { stdout: out.stream, stderr: err.stream, env: {}, cwd: dir });
    expect(code).toBe(0);
    expect(out.text()).toContain('Usage: flowtrace init java');
    const missing = sink();
    expect(await main(['init', 'java', join(dir, 'nope')], { stdout: out.stream, stderr: missing.stream, env: {}, cwd: dir })).toBe(2);
    expect(missing.text()).toContain('does not exist');
  });
});
