package dev.flowtrace.agent.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What FlowTrace needs from a class file and the JVM does not give at run time: each method's
 * bytecode length (to skip trivial methods), its first line (LineNumberTable), its parameter
 * names (MethodParameters from {@code javac -parameters}, else the LocalVariableTable of
 * {@code javac -g}) and the class's SourceFile. A reader of the JVM specification's format, §4.
 */
public final class ClassFile {

  /** One method or constructor as the class file declares it. */
  public static final class Method {
    public final String name;
    public final String descriptor;
    public final int access;
    /** Bytecode bytes; -1 for abstract and native methods. */
    public final int codeLength;
    /** The lowest line in its LineNumberTable; -1 when the class was compiled without lines. */
    public final int firstLine;
    /** One per parameter; null where the class file does not name it. */
    public final String[] parameterNames;
    /** Its bytecode calls a method (invokevirtual, invokespecial, invokestatic or invokeinterface). */
    public final boolean calls;

    Method(String name, String descriptor, int access, int codeLength, int firstLine, String[] parameterNames, boolean calls) {
      this.name = name;
      this.descriptor = descriptor;
      this.access = access;
      this.codeLength = codeLength;
      this.firstLine = firstLine;
      this.parameterNames = parameterNames;
      this.calls = calls;
    }

    /**
     * Trivial: shorter than {@code maxBytes} of bytecode and calling no method — field getters
     * and setters (4–6 bytes), constant returns, empty bodies. A short method that delegates
     * ({@code return repo.find(id);}) is not trivial.
     */
    public boolean isTrivial(int maxBytes) {
      return codeLength >= 0 && codeLength < maxBytes && !calls;
    }

    public boolean isStatic() {
      return (access & 0x0008) != 0;
    }

    /** Synthetic (lambda bodies, accessors) or bridge: the compiler's, not the programmer's. */
    public boolean isGenerated() {
      return (access & (0x1000 | 0x0040)) != 0;
    }
  }

  public final String sourceFile;
  public final List<Method> methods;

  private ClassFile(String sourceFile, List<Method> methods) {
    this.sourceFile = sourceFile;
    this.methods = methods;
  }

  public Method find(String name, String descriptor) {
    for (Method m : methods) {
      if (m.name.equals(name) && m.descriptor.equals(descriptor)) return m;
    }
    return null;
  }

  /** The class file of {@code type} from its own loader, or null when it has none (generated classes). */
  public static ClassFile of(Class<?> type) {
    String resource = "/" + type.getName().replace('.', '/') + ".class";
    try (InputStream in = type.getResourceAsStream(resource)) {
      return in == null ? null : parse(in.readAllBytes());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  public static ClassFile read(ClassLoader loader, String className) {
    if (loader == null) return null;
    try (InputStream in = loader.getResourceAsStream(className.replace('.', '/') + ".class")) {
      return in == null ? null : parse(in.readAllBytes());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  public static ClassFile parse(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    if (b.getInt() != 0xCAFEBABE) throw new IllegalArgumentException("not a class file");
    b.getShort(); // minor
    b.getShort(); // major
    String[] utf8 = readConstantPool(b);
    b.getShort(); // access
    b.getShort(); // this
    b.getShort(); // super
    skip(b, 2 * u2(b)); // interfaces
    int fields = u2(b);
    for (int i = 0; i < fields; i++) {
      skip(b, 6);
      skipAttributes(b);
    }
    int count = u2(b);
    List<Method> methods = new ArrayList<>(count);
    for (int i = 0; i < count; i++) methods.add(readMethod(b, utf8));
    String sourceFile = null;
    int attributes = u2(b);
    for (int i = 0; i < attributes; i++) {
      String name = utf8[u2(b)];
      int length = b.getInt();
      if ("SourceFile".equals(name)) {
        sourceFile = utf8[u2(b)];
        skip(b, length - 2);
      } else {
        skip(b, length);
      }
    }
    return new ClassFile(sourceFile, List.copyOf(methods));
  }

  /** The constant pool's UTF-8 entries by index (other entries are null). */
  private static String[] readConstantPool(ByteBuffer b) {
    int count = u2(b);
    String[] utf8 = new String[count];
    for (int i = 1; i < count; i++) {
      int tag = b.get() & 0xFF;
      switch (tag) {
        case 1: {
          int length = u2(b);
          utf8[i] = modifiedUtf8(b, length);
          break;
        }
        case 7: case 8: case 16: case 19: case 20: skip(b, 2); break;
        case 15: skip(b, 3); break;
        case 3: case 4: case 9: case 10: case 11: case 12: case 17: case 18: skip(b, 4); break;
        case 5: case 6: skip(b, 8); i++; break;
        default: throw new IllegalArgumentException("constant pool tag " + tag);
      }
    }
    return utf8;
  }

  private static Method readMethod(ByteBuffer b, String[] utf8) {
    int access = u2(b);
    String name = utf8[u2(b)];
    String descriptor = utf8[u2(b)];
    int parameters = parameterSlots(descriptor).length;
    String[] fromMethodParameters = null;
    String[] fromLocals = null;
    int codeLength = -1;
    int firstLine = -1;
    boolean calls = false;
    int attributes = u2(b);
    for (int a = 0; a < attributes; a++) {
      String attribute = utf8[u2(b)];
      int length = b.getInt();
      int end = b.position() + length;
      if ("Code".equals(attribute)) {
        skip(b, 4); // max_stack, max_locals
        codeLength = b.getInt();
        calls = callsMethods(b, codeLength);
        skip(b, codeLength);
        skip(b, 8 * u2(b)); // exception table
        int nested = u2(b);
        for (int n = 0; n < nested; n++) {
          String nestedName = utf8[u2(b)];
          int nestedLength = b.getInt();
          int nestedEnd = b.position() + nestedLength;
          if ("LineNumberTable".equals(nestedName)) {
            int lines = u2(b);
            for (int l = 0; l < lines; l++) {
              b.getShort();
              int line = u2(b);
              if (firstLine < 0 || line < firstLine) firstLine = line;
            }
          } else if ("LocalVariableTable".equals(nestedName)) {
            fromLocals = parameterNamesFromLocals(b, utf8, descriptor, (access & 0x0008) != 0, fromLocals);
          }
          b.position(nestedEnd);
        }
      } else if ("MethodParameters".equals(attribute)) {
        int n = b.get() & 0xFF;
        fromMethodParameters = new String[n];
        for (int p = 0; p < n; p++) {
          int index = u2(b);
          b.getShort();
          fromMethodParameters[p] = index == 0 ? null : utf8[index];
        }
      }
      b.position(end);
    }
    String[] names = new String[parameters];
    for (int p = 0; p < parameters; p++) {
      // MethodParameters may list fewer (or more: an inner class's outer instance) than the descriptor.
      if (fromMethodParameters != null && fromMethodParameters.length == parameters) names[p] = fromMethodParameters[p];
      if (names[p] == null && fromLocals != null) names[p] = fromLocals[p];
    }
    return new Method(name, descriptor, access, codeLength, firstLine, names, calls);
  }

  /**
   * Parameter names from a LocalVariableTable: per parameter slot, the variable that starts
   * first (at pc 0 as javac writes it; later when advice was inlined before the body).
   */
  private static String[] parameterNamesFromLocals(
      ByteBuffer b, String[] utf8, String descriptor, boolean isStatic, String[] previous) {
    int[] slots = parameterSlots(descriptor);
    String[] names = previous == null ? new String[slots.length] : previous;
    int[] firstStart = new int[slots.length];
    Arrays.fill(firstStart, Integer.MAX_VALUE);
    int offset = isStatic ? 0 : 1;
    int entries = u2(b);
    for (int e = 0; e < entries; e++) {
      int startPc = u2(b);
      b.getShort(); // length
      String name = utf8[u2(b)];
      b.getShort(); // descriptor
      int slot = u2(b);
      for (int p = 0; p < slots.length; p++) {
        if (slots[p] + offset == slot && startPc < firstStart[p]) {
          names[p] = name;
          firstStart[p] = startPc;
        }
      }
    }
    return names;
  }

  /** The local-variable slot of each parameter, not counting {@code this}. */
  static int[] parameterSlots(String descriptor) {
    List<Integer> slots = new ArrayList<>();
    int slot = 0;
    int i = 1;
    while (descriptor.charAt(i) != ')') {
      slots.add(slot);
      char c = descriptor.charAt(i);
      slot += (c == 'J' || c == 'D') ? 2 : 1;
      while (descriptor.charAt(i) == '[') i++;
      i = descriptor.charAt(i) == 'L' ? descriptor.indexOf(';', i) + 1 : i + 1;
    }
    return slots.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Whether the code at the buffer's position invokes a method; walks the instructions (JVMS §6.5). */
  static boolean callsMethods(ByteBuffer b, int codeLength) {
    int start = b.position();
    int pc = 0;
    while (pc < codeLength) {
      int op = b.get(start + pc) & 0xFF;
      if (op >= 0xB6 && op <= 0xB9) return true;
      pc += instructionLength(b, start, pc, op);
    }
    return false;
  }

  private static int instructionLength(ByteBuffer b, int start, int pc, int op) {
    if (op == 0xAA || op == 0xAB) {
      int at = pc + 1 + ((4 - ((pc + 1) % 4)) % 4) + 4; // past the padding and the default offset
      if (op == 0xAA) {
        int low = b.getInt(start + at);
        int high = b.getInt(start + at + 4);
        return at + 8 + (high - low + 1) * 4 - pc;
      }
      return at + 4 + b.getInt(start + at) * 8 - pc;
    }
    if (op == 0xC4) return (b.get(start + pc + 1) & 0xFF) == 0x84 ? 6 : 4;
    return LENGTHS[op];
  }

  // Length of each fixed-size instruction, by opcode.
  private static final int[] LENGTHS = new int[256];

  static {
    Arrays.fill(LENGTHS, 1);
    LENGTHS[0x10] = 2; // bipush
    LENGTHS[0x11] = 3; // sipush
    LENGTHS[0x12] = 2; // ldc
    LENGTHS[0x13] = 3;
    LENGTHS[0x14] = 3;
    for (int op = 0x15; op <= 0x19; op++) LENGTHS[op] = 2; // loads with an index
    for (int op = 0x36; op <= 0x3A; op++) LENGTHS[op] = 2; // stores with an index
    LENGTHS[0x84] = 3; // iinc
    for (int op = 0x99; op <= 0xA8; op++) LENGTHS[op] = 3; // branches, goto, jsr
    LENGTHS[0xA9] = 2; // ret
    for (int op = 0xB2; op <= 0xB8; op++) LENGTHS[op] = 3; // fields, invokes
    LENGTHS[0xB9] = 5; // invokeinterface
    LENGTHS[0xBA] = 5; // invokedynamic
    LENGTHS[0xBB] = 3; // new
    LENGTHS[0xBC] = 2; // newarray
    LENGTHS[0xBD] = 3; // anewarray
    LENGTHS[0xC0] = 3; // checkcast
    LENGTHS[0xC1] = 3; // instanceof
    LENGTHS[0xC5] = 4; // multianewarray
    LENGTHS[0xC6] = 3; // ifnull
    LENGTHS[0xC7] = 3; // ifnonnull
    LENGTHS[0xC8] = 5; // goto_w
    LENGTHS[0xC9] = 5; // jsr_w
  }

  private static int u2(ByteBuffer b) {
    return b.getShort() & 0xFFFF;
  }

  private static void skip(ByteBuffer b, int n) {
    b.position(b.position() + n);
  }

  private static void skipAttributes(ByteBuffer b) {
    int n = u2(b);
    for (int i = 0; i < n; i++) {
      skip(b, 2);
      skip(b, b.getInt());
    }
  }

  /** The JVM's modified UTF-8: standard UTF-8 but for NUL (two bytes) and supplementary characters (surrogate pairs). */
  private static String modifiedUtf8(ByteBuffer b, int length) {
    StringBuilder out = new StringBuilder(length);
    int end = b.position() + length;
    while (b.position() < end) {
      int c = b.get() & 0xFF;
      if (c < 0x80) {
        out.append((char) c);
      } else if ((c & 0xE0) == 0xC0) {
        out.append((char) (((c & 0x1F) << 6) | (b.get() & 0x3F)));
      } else {
        int c2 = b.get() & 0x3F;
        int c3 = b.get() & 0x3F;
        out.append((char) (((c & 0x0F) << 12) | (c2 << 6) | c3));
      }
    }
    return out.toString();
  }
}
