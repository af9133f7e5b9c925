package io.leasehold.reliability.check;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

/**
 * The store after a run: each counter's value and highest registered token, and the log of
 * accepted writes in commit order.
 */
public record StoreState(Map<String, Long> counters, Map<String, Long> maxTokens, List<LogRow> log) {

	public record LogRow(long id, String lock, String worker, long token, long value) {
	}

	public static StoreState read(DataSource store) throws SQLException {
		Map<String, Long> counters = new LinkedHashMap<>();
		Map<String, Long> maxTokens = new LinkedHashMap<>();
		List<LogRow> log = new ArrayList<>();
		try (Connection connection = store.getConnection(); Statement statement = connection.createStatement()) {
			try (ResultSet rows = statement.executeQuery("SELECT name, value, max_token FROM counter ORDER BY name")) {
				while (rows.next()) {
					counters.put(rows.getString(1), rows.getLong(2));
					maxTokens.put(rows.getString(1), rows.getLong(3));
				}
			}
			try (ResultSet rows = statement
				.executeQuery("SELECT id, name, worker, token, value FROM counter_log ORDER BY id")) {
				while (rows.next()) {
					log.add(new LogRow(rows.getLong(1), rows.getString(2), rows.getString(3), rows.getLong(4),
							rows.getLong(5)));
				}
			}
		}
		return new StoreState(counters, maxTokens, log);
	}

}
