// Render renders every template of a directory with Apache Velocity 1.7 in
// one JVM: for each NAME.vtl (sorted), with the top-level members of
// NAME.json (when present) as context variables, it prints a line
// MARKER NAME, then the output (or "ERROR " and the exception's class).
// The Go test (differential_test.go) compiles it with javac and compares.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

public class Render {
	public static void main(String[] args) throws Exception {
		File dir = new File(args[0]);
		String marker = args[1];
		VelocityEngine ve = new VelocityEngine();
		ve.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
		// Each template is rendered alone: its inline macros stay its own.
		ve.setProperty("velocimacro.permissions.allow.inline.local.scope", "true");
		ve.init();
		String[] names = dir.list();
		Arrays.sort(names);
		PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
		for (String f : names) {
			if (!f.endsWith(".vtl")) continue;
			String name = f.substring(0, f.length() - 4);
			String src = new String(Files.readAllBytes(new File(dir, f).toPath()), StandardCharsets.UTF_8);
			VelocityContext ctx = new VelocityContext();
			ctx.put("util", new Util());
			File jf = new File(dir, name + ".json");
			if (jf.exists()) {
				String js = new String(Files.readAllBytes(jf.toPath()), StandardCharsets.UTF_8);
				Object v = new Json(js).value();
				for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) ctx.put((String) e.getKey(), e.getValue());
			}
			out.print(marker + " " + name + "\n");
			StringWriter w = new StringWriter();
			try {
				ve.evaluate(ctx, w, name, src);
				out.print(w.toString());
			} catch (Throwable e) {
				out.print("ERROR " + e.getClass().getSimpleName());
			}
			out.print("\n");
		}
		out.flush();
	}

	// Util is API Gateway's $util, as the Java libraries it names define
	// each function.
	public static class Util {
		public String escapeJavaScript(String s) { return org.apache.commons.lang.StringEscapeUtils.escapeJavaScript(s); }
		public Object parseJson(String s) { return new Json(s).value(); }
		public String urlEncode(String s) throws Exception { return java.net.URLEncoder.encode(s, "UTF-8"); }
		public String urlDecode(String s) throws Exception { return java.net.URLDecoder.decode(s, "UTF-8"); }
		public String base64Encode(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }
		public String base64Decode(String s) { return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8); }
	}

	// Json is a small JSON parser: objects as LinkedHashMap, arrays as
	// ArrayList, integers as Integer, Long or BigInteger, decimals as Double.
	static class Json {
		final String s;
		int i;
		Json(String s) { this.s = s; }
		void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
		Object value() {
			ws();
			char c = s.charAt(i);
			if (c == '{') {
				i++;
				Map<String, Object> m = new LinkedHashMap<>();
				ws();
				if (s.charAt(i) == '}') { i++; return m; }
				for (;;) {
					ws();
					String k = (String) value();
					ws(); i++; // ':'
					m.put(k, value());
					ws();
					if (s.charAt(i++) == '}') return m;
				}
			}
			if (c == '[') {
				i++;
				List<Object> l = new ArrayList<>();
				ws();
				if (s.charAt(i) == ']') { i++; return l; }
				for (;;) {
					l.add(value());
					ws();
					if (s.charAt(i++) == ']') return l;
				}
			}
			if (c == '"') {
				StringBuilder b = new StringBuilder();
				i++;
				for (;;) {
					char d = s.charAt(i++);
					if (d == '"') return b.toString();
					if (d != '\\') { b.append(d); continue; }
					d = s.charAt(i++);
					switch (d) {
					case 'n': b.append('\n'); break;
					case 't': b.append('\t'); break;
					case 'r': b.append('\r'); break;
					case 'b': b.append('\b'); break;
					case 'f': b.append('\f'); break;
					case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
					default: b.append(d);
					}
				}
			}
			if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
			if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
			if (s.startsWith("null", i)) { i += 4; return null; }
			int st = i;
			while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
			String n = s.substring(st, i);
			if (n.indexOf('.') >= 0 || n.indexOf('e') >= 0 || n.indexOf('E') >= 0) return Double.valueOf(n);
			try { return Integer.valueOf(n); } catch (NumberFormatException e) {}
			try { return Long.valueOf(n); } catch (NumberFormatException e) {}
			return new java.math.BigInteger(n);
		}
	}
}
