import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { endpointFlag, flowtraceRoot } from './init-common.js';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { UsageError, type Command } from '../command.js';

const USAGE = `Usage: flowtrace init java [options] [DIR]

Prints how to run the Java application in DIR (default: the current folder)
under the FlowTrace agent: the -javaagent flag, the settings, and the start
command for its build (Maven, Gradle, Spring Boot). The include filter it
proposes is the main class's top-level package (com.acme for
com.acme.shop.Main), as the agent's own default.

The Java agent reads environment variables and -D properties only, so there
is nothing to write: copy the lines.

Options:
  --service NAME    service name (default: the Maven artifactId or Gradle rootProject.name)
  --endpoint URL    the collector's OTLP/HTTP endpoint (default http://localhost:4318)
  --include LIST    comma-separated include filter (default: from the main class)
  --main CLASS      the application's main class (default: detected)
  --agent JAR       the agent jar (default: this FlowTrace's agents/java/target/flowtrace-agent.jar)
  --capture-args    also record method arguments (capped, secrets masked)
  -h, --help        show this help
`;

const DEFAULT_ENDPOINT = 'http://localhost:4318';
/** Folders never searched for sources: build output, tools' state, dependencies. */
const SKIPPED_FOLDERS = new Set(['target', 'build', 'out', 'bin', 'node_modules', '.git', '.gradle', '.idea', '.mvn', '.settings']);
const MAX_DEPTH = 8;
const MAX_SOURCE_FILES = 5000;
const CLASS_NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

type BuildTool = 'maven' | 'gradle-kotlin' | 'gradle-groovy';

export interface JavaProject {
  dir: string;
  build: BuildTool;
  /** The build file, relative to dir. */
  buildFile: string;
  name: string;
  version: string | undefined;
  springBoot: boolean;
  /** The main class, fully qualified; undefined when none was found. */
  mainClass: string | undefined;
  /** Where the main class came from, for the reader. */
  mainFrom: string | undefined;
  /** Other candidates when the sources hold several, so the user can pick with --main. */
  otherMains: string[];
  /** Top-level packages of the sources: the include proposed when there is no main class. */
  sourcePackages: string[];
}

/** A problem with the folder or the project (no such folder, no Java build): exit code 2. */
class InitError extends Error {}

function read(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Java/Kotlin/Groovy/XML comments removed, so commented-out code is not taken for code. */
function stripComments(text: string, xml = false): string {
  return xml ? text.replace(/<!--[\s\S]*?-->/g, '') : text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:"'])\/\/.*$/gm, '$1');
}

function validClass(name: string | undefined): string | undefined {
  return name !== undefined && CLASS_NAME.test(name) ? name : undefined;
}

interface BuildFacts {
  name: string | undefined;
  version: string | undefined;
  springBoot: boolean;
  mainClass: string | undefined;
}

function mavenFacts(pom: string): BuildFacts {
  const text = stripComments(pom, true);
  const parent = /<parent>([\s\S]*?)<\/parent>/.exec(text)?.[1] ?? '';
  // What is left of the project element once the nested blocks that also name artifacts are gone.
  const own = text.replace(/<(parent|dependencies|dependencyManagement|build|profiles|reporting|plugins|modules|distributionManagement)>[\s\S]*?<\/\1>/g, '');
  const tag = (t: string, s: string) => /^[^$]+$/.exec(new RegExp(`<${t}>\\s*([^<]+?)\\s*</${t}>`).exec(s)?.[1] ?? '')?.[0];
  const springBoot = /<artifactId>\s*spring-boot-starter-parent\s*<\/artifactId>/.test(parent) || /<artifactId>\s*spring-boot-maven-plugin\s*<\/artifactId>/.test(text);
  const mainClass = validClass(tag('mainClass', text) ?? tag('start-class', text) ?? tag('exec.mainClass', text));
  return { name: tag('artifactId', own), version: tag('version', own) ?? tag('version', parent), springBoot, mainClass };
}

function gradleFacts(build: string, settings: string | undefined): BuildFacts {
  const text = stripComments(build);
  const springBoot = /id\s*\(?\s*["']org\.springframework\.boot["']/.test(text) || /apply\s*\(?\s*plugin\s*[:=]\s*["']org\.springframework\.boot["']/.test(text);
  const mainClass = validClass(
    /\bmainClass(?:Name)?\s*(?:\.set\s*\(\s*|=\s*|\s+)["']([\w.$]+)["']/.exec(text)?.[1] ?? /["']Main-Class["']\s*(?::|to|,)\s*["']([\w.$]+)["']/.exec(text)?.[1],
  );
  const name = settings === undefined ? undefined : /rootProject\.name\s*=\s*["']([^"']+)["']/.exec(stripComments(settings))?.[1];
  const version = /^\s*version\s*=\s*["']([^"']+)["']/m.exec(text)?.[1];
  return { name, version, springBoot, mainClass };
}

interface SourceClass {
  className: string;
  springBootApplication: boolean;
  hasMain: boolean;
  file: string;
}

/** Every .java/.kt file under a src/main/java or src/main/kotlin folder, at any module depth. */
function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string, depth: number, inSources: boolean): void => {
    if (depth > MAX_DEPTH || found.length >= MAX_SOURCE_FILES) return;
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(folder, e.name);
      if (e.isDirectory()) {
        if (SKIPPED_FOLDERS.has(e.name) || e.name.startsWith('.')) continue;
        const sources = inSources || ((e.name === 'java' || e.name === 'kotlin') && folder.endsWith(`${sep}src${sep}main`));
        walk(full, depth + 1, sources);
      } else if (inSources && e.isFile() && /\.(java|kt)$/.test(e.name) && found.length < MAX_SOURCE_FILES) {
        found.push(full);
      }
    }
  };
  walk(dir, 0, false);
  return found.sort();
}

function readSource(file: string): SourceClass | undefined {
  let text: string;
  try {
    if (statSync(file).size > 1_000_000) return undefined;
    text = stripComments(read(file));
  } catch {
    return undefined;
  }
  const pkg = /^\s*package\s+([\w.]+)\s*;?\s*$/m.exec(text)?.[1];
  const kotlin = file.endsWith('.kt');
  const simple = basename(file).replace(/\.(java|kt)$/, '');
  const springBootApplication = /@SpringBootApplication\b/.test(text);
  // Java: `static void main(`; Kotlin: a top-level `fun main(`, which compiles to class FileKt.
  const javaMain = !kotlin && /\bstatic\s+(?:final\s+)?void\s+main\s*\(/.test(text);
  const kotlinMain = kotlin && /^fun\s+main\s*\(/m.test(text);
  const cls = kotlin && kotlinMain && !springBootApplication ? `${simple}Kt` : simple;
  return { className: pkg ? `${pkg}.${cls}` : cls, springBootApplication, hasMain: javaMain || kotlinMain, file };
}

/** The agent's rule (ClassFilter.defaultInclude): the first two name parts of the main class's package. */
export function topLevelPackage(className: string): string | undefined {
  const parts = className.split('.');
  if (parts.length === 1) return undefined;
  return parts.slice(0, Math.min(2, parts.length - 1)).join('.');
}

/** Looks at a Java project: its build, name, Spring Boot or not, main class and packages. */
export function detectJavaProject(dir: string, mainGiven?: string): JavaProject {
  if (!existsSync(dir)) throw new InitError(`${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new InitError(`${dir} is not a folder`);
  let build: BuildTool;
  let buildFile: string;
  let facts: BuildFacts;
  const settings = ['settings.gradle.kts', 'settings.gradle'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (existsSync(join(dir, 'pom.xml'))) {
    build = 'maven';
    buildFile = 'pom.xml';
    facts = mavenFacts(read(join(dir, buildFile)));
  } else if (existsSync(join(dir, 'build.gradle.kts')) || existsSync(join(dir, 'build.gradle'))) {
    build = existsSync(join(dir, 'build.gradle.kts')) ? 'gradle-kotlin' : 'gradle-groovy';
    buildFile = build === 'gradle-kotlin' ? 'build.gradle.kts' : 'build.gradle';
    facts = gradleFacts(read(join(dir, buildFile)), settings && read(settings));
  } else {
    throw new InitError(`no pom.xml, build.gradle or build.gradle.kts in ${dir}: run this in a Maven or Gradle project, or name its folder`);
  }

  const sources = sourceFiles(dir).map(readSource).filter((s): s is SourceClass => s !== undefined);
  const bootApps = sources.filter((s) => s.springBootApplication);
  const mains = sources.filter((s) => s.hasMain && !s.springBootApplication);
  let mainClass: string | undefined;
  let mainFrom: string | undefined;
  let candidates: SourceClass[] = [];
  if (mainGiven !== undefined) {
    mainClass = mainGiven;
    mainFrom = '--main';
  } else if (facts.mainClass !== undefined) {
    mainClass = facts.mainClass;
    mainFrom = buildFile;
  } else {
    candidates = bootApps.length > 0 ? bootApps : mains;
    const first = candidates[0];
    if (first !== undefined) {
      mainClass = first.className;
      mainFrom = `${first.springBootApplication ? '@SpringBootApplication in ' : ''}${relative(dir, first.file).split(sep).join('/')}`;
    }
  }
  const sourcePackages = [...new Set(sources.map((s) => topLevelPackage(s.className)).filter((p): p is string => p !== undefined))].sort();
  if (mainClass === undefined && sources.length === 0) {
    throw new InitError(`no Java or Kotlin sources under src/main in ${dir} and no main class in ${buildFile}: name the main class with --main`);
  }
  return {
    dir,
    build,
    buildFile,
    name: facts.name ?? basename(dir),
    version: facts.version,
    springBoot: facts.springBoot || bootApps.length > 0,
    mainClass,
    mainFrom,
    otherMains: candidates.slice(1).map((c) => c.className),
    sourcePackages,
  };
}

function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

/** The application's jar as its build names it by default. */
function jarPath(p: JavaProject): string {
  if (p.build === 'maven') return `target/${p.name}${p.version ? `-${p.version}` : ''}.jar`;
  return `build/libs/${p.name}${p.version && p.version !== 'unspecified' ? `-${p.version}` : ''}.jar`;
}

const BUILD_LABEL: Record<BuildTool, string> = { maven: 'Maven', 'gradle-kotlin': 'Gradle, Kotlin DSL', 'gradle-groovy': 'Gradle' };

export function renderInstructions(p: JavaProject, opts: { service: string; endpoint: string; include: string[]; captureArgs: boolean; agentJar: string; agentBuilt: string | undefined }): string {
  const agentFlag = `-javaagent:${opts.agentJar}`;
  const header = [BUILD_LABEL[p.build], ...(p.springBoot ? ['Spring Boot'] : []), p.mainClass ? `main class ${p.mainClass}` : 'main class not found'];
  const lines = [`# FlowTrace agent for ${p.name} (${header.join(', ')})`];
  if (p.mainFrom !== undefined) lines.push(`# main class from ${p.mainFrom}`);
  if (p.otherMains.length > 0) lines.push(`# other main classes: ${p.otherMains.join(', ')} (pick one with --main)`);
  lines.push(`# agent: ${opts.agentJar}`);
  if (opts.agentBuilt !== undefined) lines.push(`# not built yet: ${opts.agentBuilt}`);

  lines.push('', '# Settings');
  lines.push(`export OTEL_SERVICE_NAME=${shellQuote(opts.service)}`);
  lines.push(`export OTEL_EXPORTER_OTLP_ENDPOINT=${shellQuote(opts.endpoint)}`);
  lines.push('export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf');
  if (opts.include.length > 0) lines.push(`export FLOWTRACE_INCLUDE=${shellQuote(opts.include.join(','))}`);
  else if (p.mainClass !== undefined && !p.mainClass.includes('.')) lines.push('# FLOWTRACE_INCLUDE unset: the main class is in the default package, so every class but the JDK\'s and frameworks\' is traced');
  else lines.push('# FLOWTRACE_INCLUDE: set it to your packages (e.g. com.acme); there is no main class to take a default from');
  if (opts.captureArgs) lines.push('export FLOWTRACE_CAPTURE_ARGS=true');

  lines.push('', '# Start');
  if (p.springBoot) {
    lines.push(`java ${shellQuote(agentFlag)} -jar ${jarPath(p)}`);
  } else {
    lines.push(`java ${shellQuote(agentFlag)} -cp <your class path> ${p.mainClass ?? '<main class>'}`);
  }
  if (p.springBoot && p.build === 'maven') {
    lines.push('# or from the sources:');
    lines.push(`mvn spring-boot:run -Dspring-boot.run.jvmArguments=${shellQuote(agentFlag)}`);
  } else if (p.springBoot && p.build === 'gradle-kotlin') {
    lines.push(`# or from the sources, ./gradlew bootRun with this in ${p.buildFile}:`);
    lines.push(`tasks.bootRun { jvmArgs("${agentFlag}") }`);
  } else if (p.springBoot) {
    lines.push(`# or from the sources, ./gradlew bootRun with this in ${p.buildFile}:`);
    lines.push(`bootRun { jvmArgs '${agentFlag}' }`);
  } else if (p.build === 'gradle-kotlin') {
    lines.push(`# or, with the application plugin, ./gradlew run with this in ${p.buildFile}:`);
    lines.push(`tasks.named<JavaExec>("run") { jvmArgs("${agentFlag}") }`);
  } else if (p.build === 'gradle-groovy') {
    lines.push(`# or, with the application plugin, ./gradlew run with this in ${p.buildFile}:`);
    lines.push(`run { jvmArgs '${agentFlag}' }`);
  }
  lines.push('# or, keeping the start command as it is (every JVM started with this variable loads the agent):');
  lines.push(`export JAVA_TOOL_OPTIONS=${shellQuote(agentFlag)}`);
  return `${lines.join('\n')}\n`;
}

export const initJavaCommand: Command = {
  path: ['init', 'java'],
  summary: 'print how to run a Java app (Maven, Gradle, Spring Boot) under the FlowTrace agent',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      service: { type: 'string' },
      endpoint: { type: 'string' },
      include: { type: 'string' },
      main: { type: 'string' },
      agent: { type: 'string' },
      'capture-args': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError('expected at most one project folder');
    const endpoint = endpointFlag(values.endpoint, DEFAULT_ENDPOINT);
    if (values.main !== undefined && !CLASS_NAME.test(values.main)) throw new UsageError(`--main must be a fully qualified class name, got "${values.main}"`);
    const dir = resolve(io.cwd, positionals[0] ?? '.');
    try {
      const project = detectJavaProject(dir, values.main);
      const fromMain = project.mainClass === undefined ? undefined : topLevelPackage(project.mainClass);
      const include =
        values.include !== undefined
          ? values.include.split(',').map((s) => s.trim()).filter((s) => s !== '')
          : fromMain !== undefined
            ? [fromMain]
            : project.mainClass === undefined
              ? project.sourcePackages
              : [];
      let agentJar: string;
      let agentBuilt: string | undefined;
      if (values.agent !== undefined) {
        agentJar = resolve(io.cwd, values.agent);
      } else {
        const root = flowtraceRoot() ?? io.cwd;
        agentJar = join(root, 'agents/java/target/flowtrace-agent.jar');
        if (!existsSync(agentJar)) agentBuilt = `mvn -q -f ${shellQuote(join(root, 'agents/java/pom.xml'))} package`;
      }
      const service = values.service ?? project.name;
      io.stdout.write(renderInstructions(project, { service, endpoint, include, captureArgs: values['capture-args'] === true, agentJar, agentBuilt }));
      return 0;
    } catch (err) {
      if (!(err instanceof InitError)) throw err;
      io.stderr.write(`flowtrace init java: ${err.message}\n`);
      return 2;
    }
  },
};
