// Errors are values: Result<T> carries either a T or an Error, and TRY() propagates the error.
#pragma once

#include <cerrno>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace xkvm {

// Thread-safe strerror.
std::string errno_string(int err);

// A host-side error: an errno-style code (0 when none applies) and a message for humans.
struct Error {
    int code = 0;
    std::string message;

    static Error from_errno(std::string what, int err = errno)
    {
        return Error { err, fmt::format("{}: {}", what, errno_string(err)) };
    }
};

template<typename E>
struct Unexpected {
    E error;
};

template<typename E>
Unexpected<std::decay_t<E>> make_unexpected(E&& e) { return { std::forward<E>(e) }; }

// Shorthand for the common case: fail(code, "fmt", args...).
template<typename... Args>
Unexpected<Error> fail(int code, fmt::format_string<Args...> f, Args&&... args)
{
    return { Error { code, fmt::format(f, std::forward<Args>(args)...) } };
}

template<typename T, typename E = Error>
class [[nodiscard]] Result {
public:
    using ValueType = T;
    using ErrorType = E;

    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) { }
    template<typename U>
        requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Result>
                 && !std::is_same_v<std::decay_t<U>, T>)
    Result(U&& value) : m_v(std::in_place_index<0>, T(std::forward<U>(value))) { }
    template<typename F>
        requires std::is_constructible_v<E, F&&>
    Result(Unexpected<F> u) : m_v(std::in_place_index<1>, E(std::move(u.error))) { }

    bool has_value() const { return m_v.index() == 0; }
    explicit operator bool() const { return has_value(); }
    bool is_error() const { return !has_value(); }

    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T release_value() { return std::get<0>(std::move(m_v)); }
    T value_or(T fallback) const { return has_value() ? std::get<0>(m_v) : fallback; }

    E& error() & { return std::get<1>(m_v); }
    const E& error() const& { return std::get<1>(m_v); }
    E&& error() && { return std::get<1>(std::move(m_v)); }
    E release_error() { return std::get<1>(std::move(m_v)); }

    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

private:
    std::variant<T, E> m_v;
};

template<typename E>
class [[nodiscard]] Result<void, E> {
public:
    using ValueType = void;
    using ErrorType = E;

    Result() = default;
    template<typename F>
        requires std::is_constructible_v<E, F&&>
    Result(Unexpected<F> u) : m_error(E(std::move(u.error))), m_failed(true) { }

    bool has_value() const { return !m_failed; }
    explicit operator bool() const { return has_value(); }
    bool is_error() const { return m_failed; }
    void value() const { }
    void release_value() const { }
    E& error() & { return m_error; }
    const E& error() const& { return m_error; }
    E release_error() { return std::move(m_error); }

private:
    E m_error {};
    bool m_failed = false;
};

using Status = Result<void>;

} // namespace xkvm

// TRY(expr): evaluate a Result; on error return it from the enclosing function, else yield the value.
// A GNU statement expression, as gcc and clang both accept; it keeps call sites flat. The temporary
// gets a unique name so TRY can nest (TRY(f(TRY(g())))).
#define XKVM_TRY_CONCAT_(a, b) a##b
#define XKVM_TRY_CONCAT(a, b) XKVM_TRY_CONCAT_(a, b)
#define XKVM_TRY_IMPL(expr, tmp)                                                         \
    ({                                                                                   \
        auto&& tmp = (expr);                                                             \
        if (!tmp.has_value()) [[unlikely]]                                               \
            return ::xkvm::Unexpected<std::decay_t<decltype(tmp.error())>> {             \
                std::move(tmp).release_error() };                                        \
        std::move(tmp).release_value();                                                  \
    })
#define TRY(expr) XKVM_TRY_IMPL(expr, XKVM_TRY_CONCAT(_xkvm_try_, __COUNTER__))
