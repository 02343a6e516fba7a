# AUTHGW_SONAME(NAME, HEADER, BODY, CFLAGS, LIBS, FILE-PREFIX)
# ------------------------------------------------------------
# The file name (soname) of a shared library that src/ loads with dlopen
# instead of linking: the NEEDED entry of a test program that includes
# HEADER, runs BODY and links with LIBS, whose name starts FILE-PREFIX
# (such as libsqlite3.so). --with-NAME-soname=FILE overrides it. Defines
# the C string NAME_SONAME (upper case) and substitutes nothing.
AC_DEFUN([AUTHGW_SONAME], [
  AC_REQUIRE([AUTHGW_SONAME_TOOLS])
  AC_ARG_WITH([$1-soname],
    AS_HELP_STRING([--with-$1-soname=FILE],
      [$1's file name for dlopen (default: found by linking)]),
    [authgw_soname=$withval], [authgw_soname=])
  AS_IF([test "x$authgw_soname" = x], [
    AC_MSG_CHECKING([the file name of $1])
    authgw_save_CFLAGS=$CFLAGS; authgw_save_LIBS=$LIBS
    CFLAGS="$CFLAGS $4"; LIBS="$5 $LIBS"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <$2>]], [[$3]])],
      [AS_IF([test "x$OBJDUMP" != xno],
        [authgw_soname=`$OBJDUMP -p conftest$EXEEXT | sed -n \
          's/^ *NEEDED *\($6@<:@.0-9@:>@*\) *$/\1/p'`])])
    CFLAGS=$authgw_save_CFLAGS; LIBS=$authgw_save_LIBS
    AS_IF([test "x$authgw_soname" = x],
      [AC_MSG_ERROR([cannot tell $1's file name: use --with-$1-soname=FILE])])
    AC_MSG_RESULT([$authgw_soname])
  ])
  AC_DEFINE_UNQUOTED(m4_toupper([$1])[_SONAME], ["$authgw_soname"],
    [$1's file name, for dlopen])
])

AC_DEFUN([AUTHGW_SONAME_TOOLS], [
  AC_SEARCH_LIBS([dlopen], [dl])
  AC_CHECK_TOOL([OBJDUMP], [objdump], [no])
])
