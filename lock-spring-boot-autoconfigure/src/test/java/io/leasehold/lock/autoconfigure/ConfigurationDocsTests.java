package io.leasehold.lock.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.jayway.jsonpath.JsonPath;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/configuration.md cannot drift from the configuration metadata generated from
 * {@link LeaseholdLockProperties} (plus the additional metadata): every property is documented
 * with its type and default, the page names no property that does not exist, and its YAML
 * example binds without unknown keys and passes the start-up checks. Per-lock properties are
 * compared in one form: {@code leasehold.lock.locks.<name>.x}, {@code locks.*.x} and
 * {@code locks.account.x} all count as {@code leasehold.lock.locks.*.x}.
 */
class ConfigurationDocsTests {

	private static final Path DOC = Path.of("../docs/configuration.md");

	/** A table row: | `name` | type | default | description |. */
	private static final Pattern ROW = Pattern.compile("^\\|\\s*`([^`]+)`\\s*\\|([^|]*)\\|([^|]*)\\|(.*)\\|\\s*$");

	private static final Pattern CODE = Pattern.compile("`([^`]+)`");

	/** Any mention of a Leasehold property, in tables, prose or the properties example. */
	private static final Pattern MENTION = Pattern.compile("leasehold\\.lock\\.[A-Za-z0-9_.*<>-]+");

	private static final Pattern PER_LOCK = Pattern.compile("^leasehold\\.lock\\.locks\\.[^.]+\\.");

	private static Map<String, Map<String, Object>> metadata;

	private static Set<String> groups;

	private static String doc;

	private static Map<String, DocumentedProperty> documented;

	@BeforeAll
	static void load() throws IOException {
		String json = leaseholdMetadataJson();
		metadata = new LinkedHashMap<>();
		List<Map<String, Object>> properties = JsonPath.read(json, "$.properties");
		properties.forEach((property) -> metadata.put(normalize((String) property.get("name")), property));
		groups = new TreeSet<>(JsonPath.<List<String>>read(json, "$.groups[*].name"));
		assertThat(DOC).as("docs/configuration.md, relative to the module").isRegularFile();
		doc = Files.readString(DOC, StandardCharsets.UTF_8);
		documented = new LinkedHashMap<>();
		for (String line : doc.split("\n")) {
			Matcher row = ROW.matcher(line);
			if (row.matches()) {
				DocumentedProperty property = new DocumentedProperty(normalize(row.group(1)), row.group(2).trim(),
						row.group(3).trim());
				assertThat(documented.put(property.name(), property)).as("%s documented twice", property.name())
					.isNull();
			}
		}
	}

	@Test
	void metadataIsReadFromTheModulesOwnFile() {
		assertThat(metadata).containsKeys("leasehold.lock.lease-time", "leasehold.lock.notify.channel",
				"leasehold.lock.locks.*.lease-time", "management.endpoint.leasehold.access");
	}

	@Test
	void documentsEveryPropertyOfTheMetadata() {
		assertThat(documented.keySet()).containsAll(metadata.keySet());
	}

	@Test
	void documentsNoPropertyTheMetadataLacks() {
		assertThat(documented.keySet()).allSatisfy((name) -> assertThat(metadata).containsKey(name));
		Set<String> unknown = new TreeSet<>();
		Matcher mention = MENTION.matcher(doc);
		while (mention.find()) {
			String name = normalize(mention.group().replaceAll("[.]+$", ""));
			if (!isKnown(name)) {
				unknown.add(mention.group());
			}
		}
		assertThat(unknown).as("leasehold.lock properties named in the doc but missing from the metadata").isEmpty();
	}

	@Test
	void documentsTheMetadatasType() {
		assertThat(documentedMetadataProperties()).allSatisfy((name) -> {
			String expected = simpleTypeName((String) metadata.get(name).get("type"));
			assertThat(documented.get(name).type()).as("type of %s", name).isEqualTo("`" + expected + "`");
		});
	}

	@Test
	void documentsTheMetadatasDefault() {
		assertThat(documentedMetadataProperties()).allSatisfy((name) -> {
			Map<String, Object> property = metadata.get(name);
			Object expected = property.get("defaultValue");
			String actual = documented.get(name).defaultValue();
			if (expected == null) {
				assertThat(actual).as("%s has no default in the metadata, so none in code", name)
					.doesNotContain("`");
			}
			else {
				assertThat(actual).as("default of %s", name).matches("`[^`]+`");
				String value = actual.substring(1, actual.length() - 1);
				assertThat(comparable(value, property)).as("default of %s", name)
					.isEqualTo(comparable(String.valueOf(expected), property));
			}
		});
	}

	@Test
	void yamlExampleBindsWithoutUnknownPropertiesAndPassesTheStartUpChecks() throws IOException {
		String yaml = fencedBlock("yaml");
		List<PropertySource<?>> sources = new YamlPropertySourceLoader().load("configuration.md",
				new ByteArrayResource(yaml.getBytes(StandardCharsets.UTF_8)));
		Binder binder = new Binder(ConfigurationPropertySources.from(sources));
		BindHandler noUnknownProperties = new NoUnboundElementsBindHandler(BindHandler.DEFAULT);
		LeaseholdLockProperties properties = binder
			.bind("leasehold.lock", Bindable.of(LeaseholdLockProperties.class), noUnknownProperties)
			.get();
		properties.afterPropertiesSet();
		assertThat(properties.getLocks()).containsKeys("account", "nightly-report");
		assertThat(properties.getInitializeSchema()).isEqualTo(LeaseholdLockProperties.InitializeSchema.NEVER);
	}

	@Test
	void propertiesExampleBindsWithoutUnknownProperties() {
		Map<String, String> map = new LinkedHashMap<>();
		for (String line : fencedBlock("properties").split("\n")) {
			if (!line.isBlank() && !line.startsWith("#")) {
				map.put(line.substring(0, line.indexOf('=')).trim(), line.substring(line.indexOf('=') + 1).trim());
			}
		}
		Binder binder = new Binder(ConfigurationPropertySources
			.from(new MapPropertySource("example", new LinkedHashMap<>(map))));
		LeaseholdLockProperties properties = binder
			.bind("leasehold.lock", Bindable.of(LeaseholdLockProperties.class), new NoUnboundElementsBindHandler(BindHandler.DEFAULT))
			.get();
		properties.afterPropertiesSet();
		assertThat(properties.getLocks()).containsKeys("account", "nightly-report");
	}

	/** Those missing from the doc fail {@link #documentsEveryPropertyOfTheMetadata()}. */
	private static List<String> documentedMetadataProperties() {
		return metadata.keySet().stream().filter(documented::containsKey).toList();
	}

	private static boolean isKnown(String name) {
		if (metadata.containsKey(name) || groups.contains(name)) {
			return true;
		}
		if (name.endsWith(".*")) {
			String prefix = name.substring(0, name.length() - 1);
			return metadata.keySet().stream().anyMatch((known) -> known.startsWith(prefix));
		}
		return false;
	}

	/** One form for per-lock properties: {@code leasehold.lock.locks.*.x}. */
	private static String normalize(String name) {
		return PER_LOCK.matcher(name).replaceFirst("leasehold.lock.locks.*.");
	}

	private static String simpleTypeName(String type) {
		String raw = (type.indexOf('<') >= 0) ? type.substring(0, type.indexOf('<')) : type;
		return raw.substring(Math.max(raw.lastIndexOf('.'), raw.lastIndexOf('$')) + 1);
	}

	/** Enum values compare as Spring Boot binds them: case and '-' versus '_' do not matter. */
	private static String comparable(String value, Map<String, Object> property) {
		String type = (String) property.get("type");
		boolean enumType = !type.startsWith("java.");
		return enumType ? value.toLowerCase(Locale.ROOT).replace('_', '-') : value;
	}

	private static String fencedBlock(String language) {
		Matcher block = Pattern.compile("```" + language + "\n(.*?)```", Pattern.DOTALL).matcher(doc);
		assertThat(block.find()).as("a ```%s block in the doc", language).isTrue();
		return block.group(1);
	}

	private static String leaseholdMetadataJson() throws IOException {
		Enumeration<URL> resources = ConfigurationDocsTests.class.getClassLoader()
			.getResources("META-INF/spring-configuration-metadata.json");
		List<String> found = new ArrayList<>();
		while (resources.hasMoreElements()) {
			try (InputStream in = resources.nextElement().openStream()) {
				String json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
				List<String> names = JsonPath.read(json, "$.properties[*].name");
				if (names.stream().anyMatch((name) -> name.startsWith("leasehold.lock."))) {
					found.add(json);
				}
			}
		}
		assertThat(found).as("spring-configuration-metadata.json files with leasehold.lock properties").hasSize(1);
		return found.get(0);
	}

	private record DocumentedProperty(String name, String type, @Nullable String defaultValue) {

	}

}
