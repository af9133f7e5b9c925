package io.leasehold.benchmarks;

import java.io.PrintWriter;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Statement;
import java.util.logging.Logger;

import javax.sql.DataSource;

/**
 * A DataSource that counts every statement executed on its connections. It unwraps to its
 * target, so Spring Boot's {@code DataSourceBuilder.derivedFrom} (used by Leasehold for the
 * listener connection outside the pool) still sees the real pool.
 */
final class CountingDataSource implements DataSource {

	private final DataSource target;

	private final StatementCounter counter;

	CountingDataSource(DataSource target, StatementCounter counter) {
		this.target = target;
		this.counter = counter;
	}

	DataSource target() {
		return this.target;
	}

	StatementCounter counter() {
		return this.counter;
	}

	@Override
	public Connection getConnection() throws SQLException {
		return counting(this.target.getConnection(), this.counter);
	}

	@Override
	public Connection getConnection(String username, String password) throws SQLException {
		return counting(this.target.getConnection(username, password), this.counter);
	}

	/** Wraps a connection so that statements created from it are counted. */
	static Connection counting(Connection connection, StatementCounter counter) {
		return (Connection) Proxy.newProxyInstance(CountingDataSource.class.getClassLoader(),
				new Class<?>[] { Connection.class }, new ConnectionHandler(connection, counter));
	}

	@Override
	@SuppressWarnings("unchecked")
	public <T> T unwrap(Class<T> iface) throws SQLException {
		if (iface.isInstance(this.target)) {
			return (T) this.target;
		}
		return this.target.unwrap(iface);
	}

	@Override
	public boolean isWrapperFor(Class<?> iface) throws SQLException {
		return iface.isInstance(this.target) || this.target.isWrapperFor(iface);
	}

	@Override
	public PrintWriter getLogWriter() throws SQLException {
		return this.target.getLogWriter();
	}

	@Override
	public void setLogWriter(PrintWriter out) throws SQLException {
		this.target.setLogWriter(out);
	}

	@Override
	public void setLoginTimeout(int seconds) throws SQLException {
		this.target.setLoginTimeout(seconds);
	}

	@Override
	public int getLoginTimeout() throws SQLException {
		return this.target.getLoginTimeout();
	}

	@Override
	public Logger getParentLogger() throws SQLFeatureNotSupportedException {
		return this.target.getParentLogger();
	}

	private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
		try {
			return method.invoke(target, args);
		}
		catch (InvocationTargetException ex) {
			throw ex.getCause();
		}
	}

	private record ConnectionHandler(Connection connection, StatementCounter counter) implements InvocationHandler {

		@Override
		public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
			Object result = CountingDataSource.invoke(this.connection, method, args);
			return switch (method.getName()) {
				case "createStatement" -> statement(Statement.class, result, null);
				case "prepareStatement" -> statement(PreparedStatement.class, result, (String) args[0]);
				case "prepareCall" -> statement(CallableStatement.class, result, (String) args[0]);
				default -> result;
			};
		}

		private Object statement(Class<?> type, Object statement, String sql) {
			return Proxy.newProxyInstance(CountingDataSource.class.getClassLoader(), new Class<?>[] { type },
					new StatementHandler(statement, sql, this.counter));
		}

	}

	private record StatementHandler(Object statement, String preparedSql, StatementCounter counter)
			implements InvocationHandler {

		@Override
		public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
			if (!method.getName().startsWith("execute")) {
				return CountingDataSource.invoke(this.statement, method, args);
			}
			String sql = (args != null && args.length > 0 && args[0] instanceof String text) ? text : this.preparedSql;
			long start = System.nanoTime();
			try {
				return CountingDataSource.invoke(this.statement, method, args);
			}
			finally {
				this.counter.count((sql != null) ? sql : "?", System.nanoTime() - start);
			}
		}

	}

}
