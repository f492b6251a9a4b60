package dev.flowtrace.agent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.acme.fixtures.Calculator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassFileTest {
  @TempDir Path dir;

  @Test
  void readsLengthsLinesCallsAndParameterNames() {
    ClassFile f = ClassFile.of(Calculator.class);
    assertEquals("Calculator.java", f.sourceFile);
    ClassFile.Method login = f.find("login", "(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;");
    assertArrayEquals(new String[] {"user", "password"}, login.parameterNames);
    assertTrue(login.firstLine > 0);
    assertTrue(login.calls);
    ClassFile.Method add = f.find("add", "(JJ)J");
    assertArrayEquals(new String[] {"a", "b"}, add.parameterNames, "a long takes two slots");
    ClassFile.Method twice = f.find("twice", "(I)I");
    assertArrayEquals(new String[] {"x"}, twice.parameterNames, "static: no `this` slot");
    assertTrue(f.find("getLast", "()I").isTrivial(8));
    assertTrue(f.find("setLabel", "(Ljava/lang/String;)V").isTrivial(8));
    assertTrue(f.find("nothing", "()V").isTrivial(8));
    assertFalse(f.find("login", "(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;").isTrivial(8), "short, but calls");
    assertFalse(f.find("getLast", "()I").isTrivial(0));
    assertTrue(f.find("lambda$upper$0", "(Ljava/lang/String;)Ljava/lang/String;").isGenerated());
  }

  @Test
  void instructionLengthsAcrossSwitchesAndWideInstructions() throws IOException {
    String source = "public class Sw { public static int f(int x) { int a = 0; switch (x) { case 1: a = 5; break;"
        + " case 2: a = 7; break; case 3: a = 9; break; default: a = 1; }"
        + " switch (x) { case 10: a++; break; case 1000: a--; break; }"
        + " return a + String.valueOf(a).length(); }"
        + " public static int g(int x) { switch (x) { case 1: return 2; case 9: return 3; } return 0; } }";
    ClassFile f = compile("Sw", source, "-g");
    assertTrue(f.find("f", "(I)I").calls, "the call after two switches is found");
    assertFalse(f.find("g", "(I)I").calls);
  }

  @Test
  void withoutDebugInformationParametersHaveNoNamesAndNoLines() throws IOException {
    ClassFile f = compile("Plain", "public class Plain { public String login(String user, String password) { return user + password; } }", "-g:none");
    ClassFile.Method m = f.find("login", "(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;");
    assertArrayEquals(new String[] {null, null}, m.parameterNames);
    assertEquals(-1, m.firstLine);
    assertEquals(null, f.sourceFile);
  }

  @Test
  void parametersFlagNamesThemWithoutDebugInformation() throws IOException {
    ClassFile f = compile("Params", "public class Params { public String login(String user, String password) { return user + password; } }",
        "-g:none", "-parameters");
    assertArrayEquals(new String[] {"user", "password"},
        f.find("login", "(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;").parameterNames);
  }

  private ClassFile compile(String name, String source, String... options) throws IOException {
    Path file = dir.resolve(name + ".java");
    Files.writeString(file, source);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    List<String> args = new ArrayList<>(List.of(options));
    args.addAll(List.of("-d", dir.toString(), file.toString()));
    assertEquals(0, javac.run(null, null, null, args.toArray(new String[0])));
    return ClassFile.parse(Files.readAllBytes(dir.resolve(name + ".class")));
  }
}
