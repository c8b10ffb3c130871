# One reproducible image per service: docker build --build-arg SERVICE=webhook-gateway \
#   --build-arg MAIN_CLASS=io.marketplace.payments.gateway.Main -t marketplace-payments/webhook-gateway .
# Stage 1 builds the module with the Maven wrapper; stage 2 is a slim JRE running as a non-root user.
ARG JDK_IMAGE=docker.io/library/eclipse-temurin:21-jdk
ARG JRE_IMAGE=docker.io/library/eclipse-temurin:21-jre

FROM ${JDK_IMAGE} AS build
ARG SERVICE
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
COPY . .
# install, not package: the second invocation builds only the service module and resolves the
# project's own modules (common, ...) from the repository, where package would not have put them.
# The cache is locked so that parallel builds (compose builds every image at once) never read a jar
# another build is writing.
RUN --mount=type=cache,target=/root/.m2,sharing=locked \
    ./mvnw -B -ntp -q -pl "${SERVICE}" -am install -DskipTests -Dspotless.apply.skip=true \
 && ./mvnw -B -ntp -q -pl "${SERVICE}" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory=/app/lib \
 && cp "${SERVICE}"/target/"${SERVICE}"-*.jar /app/service.jar

FROM ${JRE_IMAGE}
ARG SERVICE
ARG MAIN_CLASS
# Half of the container's memory limit for the heap: the JVM holds some 150 to 190 MB beside it at
# idle (metaspace, code cache, GC structures, threads; measured), more under load, and the pods'
# limits are 512 MiB to 1 GiB. With 75% a heap grown to its maximum took the process past the limit,
# and the kernel killed it (OOMKilled) with no OutOfMemoryError to say why.
ENV MAIN_CLASS=${MAIN_CLASS} \
    JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError"
RUN groupadd --system --gid 10001 payments \
 && useradd --system --uid 10001 --gid payments --no-create-home payments
WORKDIR /app
COPY --from=build /app/lib /app/lib
COPY --from=build /app/service.jar /app/service.jar
USER 10001:10001
LABEL org.opencontainers.image.title="${SERVICE}" \
      org.opencontainers.image.source="marketplace-payments"
ENTRYPOINT ["sh", "-c", "exec java -cp '/app/service.jar:/app/lib/*' \"$MAIN_CLASS\" \"$@\"", "--"]
