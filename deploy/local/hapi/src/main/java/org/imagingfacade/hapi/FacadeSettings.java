package org.imagingfacade.hapi;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.springframework.core.env.Environment;

/**
 * Database selection from the environment (env vars or equivalent Spring properties):
 *
 * <ul>
 *   <li>{@code HAPI_DB} = {@code h2} (default) or {@code postgres}
 *   <li>{@code FACADE_DATA_DIR} (default {@code ./.data}): H2 files live in {@code <dir>/hapi/h2*}
 *   <li>{@code HAPI_DB_URL}, {@code HAPI_DB_USER}, {@code HAPI_DB_PASSWORD}: PostgreSQL connection
 *   <li>{@code HAPI_SUBSCRIPTION_POLL_MS} (default 1000): how often pending resource changes are
 *       handed to subscription matching/delivery
 *   <li>{@code HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES} (default none): comma-separated CIDRs of
 *       non-public addresses rest-hook notifications may be delivered to (see SubscriptionDelivery)
 *   <li>{@code HAPI_SEARCH_CACHE_MS} (default 0): how long a search's results are reused for the
 *       same search (HAPI's own default is 60 s, which hides new studies from clients that searched
 *       before they arrived)
 * </ul>
 */
public final class FacadeSettings {

	public enum DbKind {
		H2,
		POSTGRES
	}

	private static final String H2_DIALECT = "ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect";
	private static final String POSTGRES_DIALECT = "ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect";

	private final DbKind dbKind;
	private final String jdbcUrl;
	private final String user;
	private final String password;
	private final String description;
	private long subscriptionPollMs = 1000;
	private long searchCacheMs = 0;
	private List<String> subscriptionAllowedAddresses = List.of();

	private FacadeSettings(DbKind dbKind, String jdbcUrl, String user, String password, String description) {
		this.dbKind = dbKind;
		this.jdbcUrl = jdbcUrl;
		this.user = user;
		this.password = password;
		this.description = description;
	}

	public static FacadeSettings from(Environment env) {
		FacadeSettings s = fromDb(env);
		s.subscriptionPollMs = Long.parseLong(env.getProperty("HAPI_SUBSCRIPTION_POLL_MS", "1000").trim());
		if (s.subscriptionPollMs < 100) {
			throw new IllegalArgumentException("HAPI_SUBSCRIPTION_POLL_MS must be >= 100");
		}
		s.searchCacheMs = Long.parseLong(env.getProperty("HAPI_SEARCH_CACHE_MS", "0").trim());
		if (s.searchCacheMs < 0) {
			throw new IllegalArgumentException("HAPI_SEARCH_CACHE_MS must be >= 0");
		}
		// Non-public addresses rest-hook deliveries may reach (SubscriptionDelivery); checked at start.
		s.subscriptionAllowedAddresses = Arrays.stream(env.getProperty("HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES", "").split(","))
				.map(String::trim)
				.filter(item -> !item.isEmpty())
				.toList();
		s.subscriptionAllowedAddresses.forEach(SubscriptionDelivery.Cidr::parse);
		return s;
	}

	private static FacadeSettings fromDb(Environment env) {
		String kind = env.getProperty("HAPI_DB", "h2").trim().toLowerCase(Locale.ROOT);
		switch (kind) {
			case "h2", "" -> {
				Path dataDir = Path.of(env.getProperty("FACADE_DATA_DIR", "./.data"))
						.toAbsolutePath()
						.normalize();
				Path h2Dir = dataDir.resolve("hapi");
				try {
					Files.createDirectories(h2Dir);
				} catch (IOException e) {
					throw new UncheckedIOException("Cannot create H2 directory " + h2Dir, e);
				}
				Path base = h2Dir.resolve("h2");
				// DB_CLOSE_ON_EXIT=FALSE: let Spring close the pool on shutdown (SIGTERM) instead of
				// H2's own JVM shutdown hook racing it.
				String url = "jdbc:h2:file:" + base + ";DB_CLOSE_ON_EXIT=FALSE";
				return new FacadeSettings(DbKind.H2, url, "sa", "", "H2 file " + base + ".mv.db");
			}
			case "postgres", "postgresql" -> {
				String url = env.getProperty("HAPI_DB_URL", "jdbc:postgresql://localhost:5432/hapi");
				String user = env.getProperty("HAPI_DB_USER", "postgres");
				String password = env.getProperty("HAPI_DB_PASSWORD", "");
				return new FacadeSettings(DbKind.POSTGRES, url, user, password, "PostgreSQL " + url);
			}
			default -> throw new IllegalArgumentException(
					"HAPI_DB must be 'h2' or 'postgres', got '" + kind + "'");
		}
	}

	public HikariDataSource createDataSource() {
		HikariConfig cfg = new HikariConfig();
		cfg.setPoolName("hapi-db");
		cfg.setJdbcUrl(jdbcUrl);
		cfg.setUsername(user);
		cfg.setPassword(password);
		cfg.setDriverClassName(dbKind == DbKind.H2 ? "org.h2.Driver" : "org.postgresql.Driver");
		cfg.setMaximumPoolSize(10);
		cfg.setMinimumIdle(2);
		return new HikariDataSource(cfg);
	}

	public String hibernateDialect() {
		return dbKind == DbKind.H2 ? H2_DIALECT : POSTGRES_DIALECT;
	}

	/** How long HAPI reuses an earlier search's results for the same search (0: never). */
	public long searchCacheMs() {
		return searchCacheMs;
	}

	/** Non-public CIDRs rest-hook notifications may be delivered to (empty: public unicast only). */
	public List<String> subscriptionAllowedAddresses() {
		return subscriptionAllowedAddresses;
	}

	public long subscriptionPollMs() {
		return subscriptionPollMs;
	}

	public DbKind dbKind() {
		return dbKind;
	}

	public String description() {
		return description;
	}
}
