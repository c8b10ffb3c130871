package io.marketplace.payments.system.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The deployment files of the repository, read as their tools read them: YAML with anchors and
 * merge keys resolved (compose's {@code <<: [*kafka-env, ...]}), every document of a multi-document
 * Kubernetes file, the root pom's modules.
 */
final class Manifests {

  private Manifests() {}

  /** The repository root: the directory above this module that holds the root pom. */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isRegularFile(dir.resolve("docker-compose.yml"))
          && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
  }

  static String read(String relative) {
    try {
      return Files.readString(root().resolve(relative));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The one YAML document of {@code relative}. */
  static Map<String, Object> yaml(String relative) {
    return map(new Yaml(new SafeConstructor(new LoaderOptions())).load(read(relative)));
  }

  /** Every YAML document of {@code relative}. */
  static List<Map<String, Object>> yamlDocuments(String relative) {
    List<Map<String, Object>> documents = new ArrayList<>();
    for (Object document :
        new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(read(relative))) {
      if (document != null) {
        documents.add(map(document));
      }
    }
    return documents;
  }

  /** The Kubernetes objects of the base, from the files its kustomization lists. */
  static List<Map<String, Object>> kubernetesBase() {
    List<Map<String, Object>> objects = new ArrayList<>();
    for (Object file : list(yaml("k8s/base/kustomization.yaml").get("resources"))) {
      objects.addAll(yamlDocuments("k8s/base/" + file));
    }
    return objects;
  }

  /** The modules of the root pom. */
  static List<String> modules() {
    List<String> modules = new ArrayList<>();
    Matcher matcher = Pattern.compile("<module>([^<]+)</module>").matcher(read("pom.xml"));
    while (matcher.find()) {
      modules.add(matcher.group(1).trim());
    }
    return modules;
  }

  // ---- navigating YAML trees

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object node) {
    if (node == null) {
      return Map.of();
    }
    if (!(node instanceof Map<?, ?>)) {
      throw new AssertionError("not a mapping: " + node);
    }
    return (Map<String, Object>) node;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object node) {
    if (node == null) {
      return List.of();
    }
    if (!(node instanceof List<?>)) {
      throw new AssertionError("not a list: " + node);
    }
    return (List<Object>) node;
  }

  /** The node at a dotted path of mapping keys ({@code "spec.template.spec"}), or null. */
  static Object at(Map<String, Object> node, String path) {
    Object current = node;
    for (String key : path.split("\\.")) {
      if (!(current instanceof Map<?, ?> mapping)) {
        return null;
      }
      current = mapping.get(key);
    }
    return current;
  }

  static String text(Object node) {
    return node == null ? null : Objects.toString(node);
  }

  /** A mapping of strings (environment, labels, data), values as text. */
  static Map<String, String> strings(Object node) {
    Map<String, String> strings = new LinkedHashMap<>();
    map(node).forEach((key, value) -> strings.put(key, text(value)));
    return strings;
  }

  /** The objects of {@code kind}, by name. */
  static Map<String, Map<String, Object>> byKind(List<Map<String, Object>> objects, String kind) {
    Map<String, Map<String, Object>> found = new LinkedHashMap<>();
    for (Map<String, Object> object : objects) {
      if (kind.equals(object.get("kind"))) {
        found.put(text(at(object, "metadata.name")), object);
      }
    }
    return found;
  }
}
