package io.leasehold.lock.notify;

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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import java.util.logging.Logger;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.test.LockNode;

/**
 * Test configuration that wraps the node's DataSource to count the statements the node executes
 * through it. The wrapper unwraps to the pool, so the release listener still derives its own
 * connection from the pool's URL and credentials; that connection is not counted.
 */
@Configuration(proxyBeanMethods = false)
class StatementCounting {

	@Bean
	static BeanPostProcessor statementCountingPostProcessor() {
		return new BeanPostProcessor() {

			@Override
			public Object postProcessAfterInitialization(Object bean, String beanName) {
				return (bean instanceof DataSource dataSource && !(bean instanceof CountingDataSource))
						? new CountingDataSource(dataSource) : bean;
			}

		};
	}

	/** Statements the node has executed through its DataSource so far. */
	static long statements(LockNode node) {
		return ((CountingDataSource) node.bean(DataSource.class)).statements.get();
	}

	static final class CountingDataSource implements DataSource, AutoCloseable {

		private final DataSource delegate;

		private final AtomicLong statements = new AtomicLong();

		CountingDataSource(DataSource delegate) {
			this.delegate = delegate;
		}

		@Override
		public Connection getConnection() throws SQLException {
			return counting(this.delegate.getConnection());
		}

		@Override
		public Connection getConnection(String username, String password) throws SQLException {
			return counting(this.delegate.getConnection(username, password));
		}

		private Connection counting(Connection connection) {
			return (Connection) proxy(Connection.class, connection, (result) -> (result instanceof Statement statement)
					? proxy(statementType(statement), statement, null) : result);
		}

		private static Class<?> statementType(Statement statement) {
			return (statement instanceof CallableStatement) ? CallableStatement.class
					: (statement instanceof PreparedStatement) ? PreparedStatement.class : Statement.class;
		}

		private Object proxy(Class<?> type, Object target, @Nullable UnaryOperator<Object> wrapResult) {
			InvocationHandler handler = (proxy, method, args) -> {
				if (type != Connection.class && method.getName().startsWith("execute")) {
					this.statements.incrementAndGet();
				}
				Object result = invoke(method, target, args);
				return (wrapResult != null) ? wrapResult.apply(result) : result;
			};
			return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] { type }, handler);
		}

		private static Object invoke(Method method, Object target, Object[] args) throws Throwable {
			try {
				return method.invoke(target, args);
			}
			catch (InvocationTargetException ex) {
				throw ex.getCause();
			}
		}

		@Override
		public PrintWriter getLogWriter() throws SQLException {
			return this.delegate.getLogWriter();
		}

		@Override
		public void setLogWriter(PrintWriter out) throws SQLException {
			this.delegate.setLogWriter(out);
		}

		@Override
		public void setLoginTimeout(int seconds) throws SQLException {
			this.delegate.setLoginTimeout(seconds);
		}

		@Override
		public int getLoginTimeout() throws SQLException {
			return this.delegate.getLoginTimeout();
		}

		@Override
		public Logger getParentLogger() throws SQLFeatureNotSupportedException {
			return this.delegate.getParentLogger();
		}

		/** Unwraps to the pool, as Spring Boot's DataSourceBuilder.derivedFrom does. */
		@Override
		public <T> T unwrap(Class<T> iface) throws SQLException {
			return iface.isInstance(this.delegate) ? iface.cast(this.delegate) : this.delegate.unwrap(iface);
		}

		@Override
		public boolean isWrapperFor(Class<?> iface) throws SQLException {
			return iface.isInstance(this.delegate) || this.delegate.isWrapperFor(iface);
		}

		@Override
		public void close() throws Exception {
			if (this.delegate instanceof AutoCloseable closeable) {
				closeable.close();
			}
		}

	}

}
